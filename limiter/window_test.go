package limiter

import (
	"testing"
	"time"
)

func TestSlidingWindowExact(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			// 10 per one-second window; t0 starts a window.
			l := im.new(t, Options{Algorithm: AlgorithmSlidingWindow, Rule: Rule{Rate: 10, Per: time.Second}})
			f := allowAt(t, l, "client-a")
			for i := int64(9); i >= 0; i-- {
				f(0, Decision{Allowed: true, Limit: 10, Remaining: i, Reset: time.Second})
			}
			// The window is full: the next request fits just after it
			// ends, when its 10 weigh a hair less than 10.
			f(0, Decision{Allowed: false, Limit: 10, Reset: time.Second, RetryAfter: time.Second + 1})
			f(999*ms, Decision{Allowed: false, Limit: 10, Reset: ms, RetryAfter: ms + 1})
			// Half-way through the next window the previous 10 weigh 5:
			// five requests fit.
			f(1500*ms, Decision{Allowed: true, Limit: 10, Remaining: 4, Reset: 500 * ms})
			for i := int64(3); i >= 0; i-- {
				f(1500*ms, Decision{Allowed: true, Limit: 10, Remaining: i, Reset: 500 * ms})
			}
			// 5 + floor(10 × 0.5) = 10: full until the weight drops below 5,
			// which is any instant later.
			f(1500*ms, Decision{Allowed: false, Limit: 10, Reset: 500 * ms, RetryAfter: 1})
			// 1ms later: 5 + floor(10 × 0.499) = 9, one fits.
			f(1501*ms, Decision{Allowed: true, Limit: 10, Remaining: 0, Reset: 499 * ms})
			f(1501*ms, Decision{Allowed: false, Limit: 10, Reset: 499 * ms, RetryAfter: 99*ms + 1})
			// Two windows later both counts are gone.
			f(3*time.Second, Decision{Allowed: true, Limit: 10, Remaining: 9, Reset: time.Second})
			// Keys are independent.
			allowAt(t, l, "client-b")(1500*ms, Decision{Allowed: true, Limit: 10, Remaining: 9, Reset: 500 * ms})
		})
	}
}

func TestSlidingWindowSteadyRate(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			l := im.new(t, Options{Algorithm: AlgorithmSlidingWindow, Rule: Rule{Rate: 10, Per: time.Second}})
			// A client asking every millisecond gets exactly 10 per window:
			// the first window at once, later ones spread (1ms, 101ms, ...).
			got := countAllowed(l, "steady", 0, 6*time.Second, ms, time.Second)
			for i, n := range got {
				if n != 10 {
					t.Fatalf("window %d: got %d allowed; want 10 (all: %v)", i, n, got)
				}
			}
		})
	}
}

func TestSlidingWindowFixedWindowsNeverExceedRate(t *testing.T) {
	// Whatever the traffic, the current window's own count is capped at
	// Rate, and the weighted previous count never blocks a whole window.
	l, err := NewSlidingWindow(Options{Rule: Rule{Rate: 7, Per: 100 * ms}, SweepInterval: -1})
	if err != nil {
		t.Fatalf("NewSlidingWindow: %v", err)
	}
	defer l.Close()
	got := countAllowed(l, "k", 0, 3*time.Second, 3*time.Millisecond/2, 100*ms)
	for i, n := range got {
		if n > 7 || n < 1 {
			t.Fatalf("window %d: got %d allowed; want 1..7 (all: %v)", i, n, got)
		}
	}
}

func TestPackWindow(t *testing.T) {
	f := func(win, cur, prev, at, wantCur, wantPrev int64) {
		t.Helper()
		c, p := unpackWindow(packWindow(win, cur, prev), at)
		if c != wantCur || p != wantPrev {
			t.Fatalf("pack(%d,%d,%d) seen from %d: got (%d,%d); want (%d,%d)", win, cur, prev, at, c, p, wantCur, wantPrev)
		}
	}
	f(5, 3, 9, 5, 3, 9)                                                                     // same window
	f(5, 3, 9, 6, 0, 3)                                                                     // next: current becomes previous
	f(5, 3, 9, 7, 0, 0)                                                                     // older: forgotten
	f(1<<22-1, 4, 1, 1<<22, 0, 4)                                                           // window number wraps
	f(123456789, MaxWindowLimit, MaxWindowLimit, 123456789, MaxWindowLimit, MaxWindowLimit) // widest counts
	if packWindow(1<<22-1, MaxWindowLimit, MaxWindowLimit) == dead {
		t.Fatalf("a live state packs to the dead marker")
	}
}
