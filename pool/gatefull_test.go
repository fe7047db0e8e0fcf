package pool

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"go.uber.org/goleak"
)

func TestFullGateRefusesWithinAcquireTimeout(t *testing.T) {
	dbURL := pgtest.NewDatabase(t) // starts the shared cluster before the leak baseline
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	const timeout = 300 * time.Millisecond
	p, err := New(context.Background(), Options{Name: "main", URL: dbURL, MaxConns: 2, AcquireTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	held := []*Conn{acquire(t, p), acquire(t, p)}
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()

	// Extra callers, all at once: each is refused within the timeout.
	const extra = 8
	var wg sync.WaitGroup
	errs := make([]error, extra)
	took := make([]time.Duration, extra)
	for i := range extra {
		wg.Go(func() {
			start := time.Now()
			c, err := p.Acquire(context.Background())
			took[i], errs[i] = time.Since(start), err
			if c != nil {
				c.Release()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		var be *BusyError
		if !errors.As(err, &be) {
			t.Fatalf("caller %d: got %v; want a *BusyError", i, err)
		}
		if took[i] < timeout || took[i] > timeout+slack {
			t.Fatalf("caller %d: refused after %s; want within %s of %s", i, took[i], slack, timeout)
		}
		if be.Limit != 2 || be.Pool != "main" || be.Timeout != timeout || be.Waited < timeout || be.RetryAfter < time.Second {
			t.Fatalf("caller %d: got %+v; want limit 2, pool main, timeout %s, waited >= timeout, RetryAfter >= 1s", i, be, timeout)
		}
		if !strings.Contains(err.Error(), "raise databases.main.max_concurrent_queries or acquire_timeout") {
			t.Fatalf("got %q; want the setting to raise", err)
		}
	}
	s := p.Stats()
	if s.GateRejected != extra || s.GateWaiting != 0 || s.InUse != 2 {
		t.Fatalf("got GateRejected=%d GateWaiting=%d InUse=%d; want %d, 0, 2", s.GateRejected, s.GateWaiting, s.InUse, extra)
	}

	// A slot freed while a caller waits goes to that caller.
	released := make(chan struct{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		held[0].Release()
		close(released)
	}()
	c, err := p.Acquire(context.Background())
	<-released
	held = held[1:]
	if err != nil {
		t.Fatalf("Acquire while a slot frees up: got %v; want a connection", err)
	}
	c.Release()
	if s := p.Stats(); s.GateWaitCount < 1 {
		t.Fatalf("got GateWaitCount=%d; want the wait at the gate counted", s.GateWaitCount)
	}
}

func TestGateLargerThanPoolIsStillBounded(t *testing.T) {
	const timeout = 300 * time.Millisecond
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 1, MaxConcurrentQueries: 2, AcquireTimeout: timeout})
	c := acquire(t, p)
	defer c.Release()
	start := time.Now()
	_, err := p.Acquire(context.Background())
	took := time.Since(start)
	var be *BusyError
	if !errors.As(err, &be) || be.Limit != 1 || !strings.Contains(err.Error(), "raise databases.main.max_conns") {
		t.Fatalf("got %v; want a *BusyError naming max_conns with limit 1", err)
	}
	if took < timeout || took > timeout+slack {
		t.Fatalf("refused after %s; want within %s of %s", took, slack, timeout)
	}
}

func TestContextEndsWaitBeforeAcquireTimeout(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 1, AcquireTimeout: 10 * time.Second})
	c := acquire(t, p)
	defer c.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Acquire(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || IsBusy(err) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %s; want context.DeadlineExceeded, not busy, after about 100ms", err, time.Since(start))
	}
	if s := p.Stats(); s.CanceledAcquireCount != 1 || s.GateRejected != 0 {
		t.Fatalf("got CanceledAcquireCount=%d GateRejected=%d; want 1 and 0", s.CanceledAcquireCount, s.GateRejected)
	}
}

func TestClose(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p, err := New(context.Background(), Options{Name: "main", URL: dbURL, MaxConns: 1, AcquireTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := acquire(t, p)

	// A caller waiting at the gate is woken by Close, not by its timeout.
	waiterErr := make(chan error, 1)
	go func() {
		_, err := p.Acquire(context.Background())
		waiterErr <- err
	}()
	for p.Stats().GateWaiting != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	select {
	case err := <-waiterErr:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("waiter: got %v; want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("waiter still blocked 2s after Close")
	}
	// Close waits for the connection still in use.
	select {
	case <-closed:
		t.Fatal("Close returned while a connection was still acquired")
	case <-time.After(100 * time.Millisecond):
	}
	c.Release()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the last Release")
	}

	p.Close() // idempotent
	_, err = p.Acquire(context.Background())
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), `cannot acquire connection for "main"`) {
		t.Fatalf("Acquire after Close: got %v; want ErrClosed naming the pool", err)
	}
	if err := p.Ping(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping after Close: got %v; want ErrClosed", err)
	}
	if s := p.Stats(); s.Total != 0 || s.InUse != 0 {
		t.Fatalf("after Close: got Total=%d InUse=%d; want 0 and 0", s.Total, s.InUse)
	}
}

func TestDoubleReleasePanics(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 1})
	c := acquire(t, p)
	c.Release()
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "BUG: ") {
			t.Fatalf("got %v; want a BUG panic", r)
		}
	}()
	c.Release()
}

// TestAcquireSinceCountsTheEarlierWait: a caller that has waited already
// (a coalesced run queued for its turn) gets what is left of the acquire
// timeout at a full gate, and a refusal at once when nothing is left; with
// a free slot it gets a connection whatever it waited.
func TestAcquireSinceCountsTheEarlierWait(t *testing.T) {
	const timeout = time.Second
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 1, AcquireTimeout: timeout})
	ctx := context.Background()
	c, err := p.AcquireSince(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatalf("free slot, wait spent: got %v; want a connection", err)
	}
	defer c.Release()

	refused := func(since time.Time) (time.Duration, *BusyError) {
		t.Helper()
		start := time.Now()
		_, err := p.AcquireSince(ctx, since)
		var be *BusyError
		if !errors.As(err, &be) {
			t.Fatalf("full gate: got %v; want a *BusyError", err)
		}
		return time.Since(start), be
	}
	took, be := refused(time.Now().Add(-time.Hour))
	if took > slack || be.Waited < time.Hour {
		t.Errorf("wait spent: refused after %s reporting a wait of %s; want at once, reporting the hour", took, be.Waited)
	}
	took, be = refused(time.Now().Add(-timeout / 2))
	if took < timeout/2-slack/5 || took > timeout/2+slack || be.Waited < timeout {
		t.Errorf("half the wait spent: refused after %s reporting %s; want about %s, reporting about %s", took, be.Waited, timeout/2, timeout)
	}
}
