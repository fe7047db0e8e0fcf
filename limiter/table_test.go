package limiter

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestGCRASweepRemovesOnlyFullBuckets(t *testing.T) {
	l, err := NewGCRA(Options{Rule: Rule{Rate: 10, Per: time.Second, Burst: 2}, SweepInterval: -1})
	if err != nil {
		t.Fatalf("NewGCRA: %v", err)
	}
	defer l.Close()
	l.Allow([]byte("a"), t0)            // bucket full again at t0+100ms
	l.Allow([]byte("b"), t0.Add(50*ms)) // at t0+150ms
	f := func(at time.Duration, wantRemoved int, wantKeys int64) {
		t.Helper()
		if got := l.Sweep(t0.Add(at)); got != wantRemoved {
			t.Fatalf("Sweep(t0+%s): got %d removed; want %d", at, got, wantRemoved)
		}
		if got := l.Stats().Keys; got != wantKeys {
			t.Fatalf("keys after Sweep(t0+%s): got %d; want %d", at, got, wantKeys)
		}
	}
	f(99*ms, 0, 2)
	f(100*ms, 1, 1)
	f(149*ms, 0, 1)
	f(150*ms, 1, 0)
	// A swept key starts again from a full bucket, as it would have anyway.
	if d := l.Allow([]byte("a"), t0.Add(200*ms)); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("Allow after sweep: got %+v; want allowed with 1 remaining", d)
	}
}

func TestSlidingWindowSweepRemovesOnlyIdleKeys(t *testing.T) {
	l, err := NewSlidingWindow(Options{Rule: Rule{Rate: 5, Per: time.Second}, SweepInterval: -1})
	if err != nil {
		t.Fatalf("NewSlidingWindow: %v", err)
	}
	defer l.Close()
	l.Allow([]byte("a"), t0.Add(500*ms))
	f := func(at time.Duration, wantRemoved int) {
		t.Helper()
		if got := l.Sweep(t0.Add(at)); got != wantRemoved {
			t.Fatalf("Sweep(t0+%s): got %d removed; want %d", at, got, wantRemoved)
		}
	}
	f(999*ms, 0)  // current window
	f(1999*ms, 0) // its count still weighs in the next window
	f(2000*ms, 1) // two windows on: nothing left
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// fakeClock is a janitor clock the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// TestFloodOfIdleKeysExpires floods limiters with floodKeys distinct keys
// (a scan over many client IPs, say: 1,000,000 in a normal run) and checks
// that the janitor goroutine removes them all once their budgets are whole
// again, and that the heap they took is given back.
func TestFloodOfIdleKeysExpires(t *testing.T) {
	clock := newFakeClock(t0)
	gcra, err := NewGCRA(Options{Rule: Rule{Rate: 1, Per: time.Second, Burst: 1}, SweepInterval: 100 * ms, clock: clock.now})
	if err != nil {
		t.Fatalf("NewGCRA: %v", err)
	}
	defer gcra.Close()
	window, err := NewSlidingWindow(Options{Rule: Rule{Rate: 1, Per: time.Second}, SweepInterval: 100 * ms, clock: clock.now})
	if err != nil {
		t.Fatalf("NewSlidingWindow: %v", err)
	}
	defer window.Close()

	base := heapAlloc()
	start := time.Now()
	buf := make([]byte, 0, 32)
	for i := range floodKeys {
		buf = strconv.AppendInt(append(buf[:0], "10.0."...), int64(i), 10)
		if !gcra.Allow(buf, t0).Allowed || !window.Allow(buf, t0).Allowed {
			t.Fatalf("first request of key %q rejected", buf)
		}
	}
	took := time.Since(start)
	peak := heapAlloc()
	for _, l := range []Limiter{gcra, window} {
		if got := l.Stats().Keys; got != floodKeys {
			t.Fatalf("%T keys after the flood: got %d; want %d (the janitor's clock has not moved)", l, got, floodKeys)
		}
	}

	// 1.5s on, GCRA buckets are full again but the sliding window's
	// previous-window counts still weigh; at 2s both are idle.
	f := func(at time.Duration, wantGCRA, wantWindow int64) {
		t.Helper()
		clock.set(t0.Add(at))
		deadline := time.Now().Add(30 * time.Second)
		for gcra.Stats().Keys != wantGCRA || window.Stats().Keys != wantWindow {
			if time.Now().After(deadline) {
				t.Fatalf("keys at t0+%s: got gcra %d, window %d; want %d and %d",
					at, gcra.Stats().Keys, window.Stats().Keys, wantGCRA, wantWindow)
			}
			time.Sleep(5 * ms)
		}
	}
	f(1500*ms, 0, floodKeys)
	f(2000*ms, 0, 0)

	after := heapAlloc()
	t.Logf("%d keys in each of 2 limiters in %s; heap: base %d MB, flood %d MB, after expiry %d MB",
		floodKeys, took.Round(ms), base>>20, peak>>20, after>>20)
	grown := int64(peak) - int64(base)
	if min := int64(floodKeys) * 32; grown < min {
		t.Fatalf("heap grown by the flood: got %d bytes; want at least %d (is the heap measured?)", grown, min)
	}
	if left := int64(after) - int64(base); left > grown/10 {
		t.Fatalf("heap after expiry: got %d bytes over base; want under a tenth of the flood's %d", left, grown)
	}
}
