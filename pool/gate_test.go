package pool

import (
	"context"
	"errors"
	"testing"
	"time"
)

// slack is how much later than its timeout a bounded wait may return on a
// loaded 2-core test machine.
const slack = 250 * time.Millisecond

func TestGateFastPath(t *testing.T) {
	g := newGate(2)
	for i := 0; i < 2; i++ {
		if waited, err := g.enter(context.Background(), nil, time.Second); err != nil || waited != 0 {
			t.Fatalf("enter %d: got waited=%s err=%v; want 0, nil", i, waited, err)
		}
	}
	g.leave()
	g.leave()
	if g.waited.Load() != 0 || g.rejected.Load() != 0 || g.canceled.Load() != 0 {
		t.Fatalf("got waited=%d rejected=%d canceled=%d; want all 0", g.waited.Load(), g.rejected.Load(), g.canceled.Load())
	}
}

func TestGateTimeout(t *testing.T) {
	g := newGate(1)
	if _, err := g.enter(context.Background(), nil, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waited, err := g.enter(context.Background(), nil, 100*time.Millisecond)
	elapsed := time.Since(start)
	if err != errGateTimeout {
		t.Fatalf("got %v; want errGateTimeout", err)
	}
	if elapsed < 100*time.Millisecond || elapsed > 100*time.Millisecond+slack || waited < 100*time.Millisecond {
		t.Fatalf("got elapsed %s, waited %s; want about 100ms", elapsed, waited)
	}
	if g.rejected.Load() != 1 || g.waiting.Load() != 0 {
		t.Fatalf("got rejected=%d waiting=%d; want 1 and 0", g.rejected.Load(), g.waiting.Load())
	}
	// The reused timer must not fire early for the next wait.
	start = time.Now()
	if _, err := g.enter(context.Background(), nil, 100*time.Millisecond); err != errGateTimeout || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("second wait: got %v after %s; want errGateTimeout after 100ms", err, time.Since(start))
	}
}

func TestGateWaitsForLeave(t *testing.T) {
	g := newGate(1)
	if _, err := g.enter(context.Background(), nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		g.leave()
	}()
	waited, err := g.enter(context.Background(), nil, 5*time.Second)
	if err != nil || waited < 40*time.Millisecond || waited > time.Second {
		t.Fatalf("got waited=%s err=%v; want about 50ms and nil", waited, err)
	}
	if g.waited.Load() != 1 || g.waitNanos.Load() < int64(40*time.Millisecond) {
		t.Fatalf("got waited=%d waitNanos=%d; want 1 and >= 40ms", g.waited.Load(), g.waitNanos.Load())
	}
	g.leave()
}

func TestGateContextAndClose(t *testing.T) {
	g := newGate(1)
	if _, err := g.enter(context.Background(), nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := g.enter(ctx, nil, 5*time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want context.DeadlineExceeded", err)
	}
	done := make(chan struct{})
	time.AfterFunc(50*time.Millisecond, func() { close(done) })
	if _, err := g.enter(context.Background(), done, 5*time.Second); err != ErrClosed {
		t.Fatalf("got %v; want ErrClosed", err)
	}
	if g.canceled.Load() != 2 || g.rejected.Load() != 0 {
		t.Fatalf("got canceled=%d rejected=%d; want 2 and 0", g.canceled.Load(), g.rejected.Load())
	}
}

func TestGateLeaveWithoutEnterPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("got no panic; want a BUG panic")
		}
	}()
	newGate(1).leave()
}

func TestRetryAfterEstimate(t *testing.T) {
	f := func(waiting int64, ema time.Duration, size int, want time.Duration) {
		t.Helper()
		if got := retryAfter(waiting, ema, size); got != want {
			t.Fatalf("retryAfter(waiting=%d, ema=%s, size=%d): got %s; want %s", waiting, ema, size, got, want)
		}
	}
	// No history yet, or fast queries: the floor of one second.
	f(0, 0, 20, time.Second)
	f(100, 5*time.Millisecond, 20, time.Second)
	// ceil((waiting+1) * ema / size) in whole seconds.
	f(0, 3*time.Second, 2, 2*time.Second)          // 1.5s -> 2s
	f(3, 3*time.Second, 2, 6*time.Second)          // 6s exactly
	f(9, 2*time.Second, 4, 5*time.Second)          // 5s
	f(10, 2*time.Second, 4, 6*time.Second)         // 5.5s -> 6s
	f(39, 500*time.Millisecond, 10, 2*time.Second) // 2s
	// Deeper queue, longer wait: the estimate follows the load.
	f(99, time.Second, 10, 10*time.Second)
	// Capped at a minute; defensive inputs.
	f(1000, 10*time.Second, 1, time.Minute)
	f(-5, 3*time.Second, 0, 3*time.Second)
}
