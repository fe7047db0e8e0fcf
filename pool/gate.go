package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errGateTimeout is gate.enter's internal "waited the whole timeout" result;
// the Pool turns it into a *BusyError carrying its name and estimate.
var errGateTimeout = errors.New("pool: gate wait timed out")

// gate is a counting semaphore with a bounded wait in front of the pgx pool.
// A slot is a value in the buffered channel: enter sends, leave receives. It
// refuses quickly under overload instead of letting callers pile up on the
// pool, and counts every outcome.
type gate struct {
	ch chan struct{}

	waiting   atomic.Int64 // callers waiting now
	waited    atomic.Int64 // entries that had to wait
	waitNanos atomic.Int64 // total wait of those entries
	rejected  atomic.Int64 // waits that ran out of time
	canceled  atomic.Int64 // waits ended by ctx or Close
}

func newGate(size int) *gate {
	return &gate{ch: make(chan struct{}, size)}
}

// size is the number of slots.
func (g *gate) size() int { return cap(g.ch) }

// enter takes a slot: at once if one is free, otherwise waiting up
// to timeout, ctx or done (closed by Pool.Close), whichever ends first; a
// timeout of 0 or less refuses at once. It returns how long it waited and
// nil, errGateTimeout, ctx.Err() or ErrClosed. A nil error obliges the
// caller to call leave exactly once.
func (g *gate) enter(ctx context.Context, done <-chan struct{}, timeout time.Duration) (time.Duration, error) {
	select {
	case g.ch <- struct{}{}:
		return 0, nil
	default:
		return g.wait(ctx, done, timeout)
	}
}

// wait is enter's slow path: the fast path is one non-blocking send.
func (g *gate) wait(ctx context.Context, done <-chan struct{}, timeout time.Duration) (time.Duration, error) {
	if timeout <= 0 {
		// AcquireTimeout 0, or a caller's wait already spent: refuse at
		// once, without arming a timer.
		g.rejected.Add(1)
		return 0, errGateTimeout
	}
	g.waiting.Add(1)
	start := time.Now()
	t := acquireTimer(timeout)
	var err error
	select {
	case g.ch <- struct{}{}:
	case <-t.C:
		err = errGateTimeout
	case <-ctx.Done():
		err = ctx.Err()
	case <-done:
		err = ErrClosed
	}
	releaseTimer(t)
	waited := time.Since(start)
	g.waiting.Add(-1)
	switch err {
	case nil:
		g.waited.Add(1)
		g.waitNanos.Add(int64(waited))
	case errGateTimeout:
		g.rejected.Add(1)
	default:
		g.canceled.Add(1)
	}
	return waited, err
}

// leave gives back the slot taken by a successful enter.
func (g *gate) leave() {
	select {
	case <-g.ch:
	default:
		panic("BUG: pool: gate left more often than entered")
	}
}

// timerPool reuses the timers of bounded waits: a wait happens on every
// acquire under load, and a fresh time.Timer costs an allocation each time.
// Since Go 1.23 a stopped timer's channel holds no stale tick, so a timer can
// be Reset straight after Stop.
var timerPool sync.Pool

func acquireTimer(d time.Duration) *time.Timer {
	if v := timerPool.Get(); v != nil {
		t := v.(*time.Timer)
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func releaseTimer(t *time.Timer) {
	t.Stop()
	timerPool.Put(t)
}

// Retry-After bounds: HTTP Retry-After has whole seconds, and an estimate
// beyond a minute says more about the estimate than about the server.
const (
	minRetryAfter = time.Second
	maxRetryAfter = time.Minute
)

// retryAfter estimates when a caller turned away now should come back: the
// callers already waiting plus this one, each holding a slot for about the
// average query time, spread over size slots, rounded up to whole seconds
// and kept within [1s, 1min].
func retryAfter(waiting int64, ema time.Duration, size int) time.Duration {
	if size < 1 {
		size = 1
	}
	if waiting < 0 {
		waiting = 0
	}
	est := float64(waiting+1) * float64(ema) / float64(size)
	if est >= float64(maxRetryAfter) {
		return maxRetryAfter
	}
	d := time.Duration(est)
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return max(d, minRetryAfter)
}
