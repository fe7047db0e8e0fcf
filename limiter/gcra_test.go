package limiter

import (
	"testing"
	"time"
)

const ms = time.Millisecond

// allowAt returns an f-test step: a request for key at t0+at must get want.
func allowAt(t *testing.T, l Limiter, key string) func(at time.Duration, want Decision) {
	return func(at time.Duration, want Decision) {
		t.Helper()
		if got := l.Allow([]byte(key), t0.Add(at)); got != want {
			t.Fatalf("Allow(%q) at t0+%s: got %+v; want %+v", key, at, got, want)
		}
	}
}

// countAllowed sends one request for key every step in [from, to) and
// returns how many were allowed in each period-long slice of that span.
func countAllowed(l Limiter, key string, from, to, step, period time.Duration) []int {
	counts := make([]int, (to-from+period-1)/period)
	for at := from; at < to; at += step {
		if l.Allow([]byte(key), t0.Add(at)).Allowed {
			counts[(at-from)/period]++
		}
	}
	return counts
}

func TestGCRAExact(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			// 10/s burst 5: T = 100ms, tau = 400ms.
			l := im.new(t, Options{Rule: Rule{Rate: 10, Per: time.Second, Burst: 5}})
			f := allowAt(t, l, "client-a")
			// The burst: five at once, each leaving one fewer and pushing
			// the full-bucket time 100ms further.
			f(0, Decision{Allowed: true, Limit: 5, Remaining: 4, Reset: 100 * ms})
			f(0, Decision{Allowed: true, Limit: 5, Remaining: 3, Reset: 200 * ms})
			f(0, Decision{Allowed: true, Limit: 5, Remaining: 2, Reset: 300 * ms})
			f(0, Decision{Allowed: true, Limit: 5, Remaining: 1, Reset: 400 * ms})
			f(0, Decision{Allowed: true, Limit: 5, Remaining: 0, Reset: 500 * ms})
			// Then rejected until one interval has passed; a rejection
			// costs nothing.
			f(0, Decision{Allowed: false, Limit: 5, Remaining: 0, Reset: 500 * ms, RetryAfter: 100 * ms})
			f(0, Decision{Allowed: false, Limit: 5, Remaining: 0, Reset: 500 * ms, RetryAfter: 100 * ms})
			f(99*ms, Decision{Allowed: false, Limit: 5, Remaining: 0, Reset: 401 * ms, RetryAfter: ms})
			f(100*ms, Decision{Allowed: true, Limit: 5, Remaining: 0, Reset: 500 * ms})
			// 250ms later 2.5 tokens came back: this request takes one and
			// one more whole request fits.
			f(350*ms, Decision{Allowed: true, Limit: 5, Remaining: 1, Reset: 350 * ms})
			f(350*ms, Decision{Allowed: true, Limit: 5, Remaining: 0, Reset: 450 * ms})
			f(350*ms, Decision{Allowed: false, Limit: 5, Remaining: 0, Reset: 450 * ms, RetryAfter: 50 * ms})
			// Long idle: a full bucket again.
			f(5*time.Second, Decision{Allowed: true, Limit: 5, Remaining: 4, Reset: 100 * ms})
			// Keys are independent.
			allowAt(t, l, "client-b")(350*ms, Decision{Allowed: true, Limit: 5, Remaining: 4, Reset: 100 * ms})
		})
	}
}

func TestGCRASteadyRate(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			l := im.new(t, Options{Rule: Rule{Rate: 10, Per: time.Second, Burst: 5}})
			// A client asking every millisecond gets the burst, then
			// exactly 10 per second: at 100ms, 200ms, ...
			got := countAllowed(l, "steady", 0, 6*time.Second, ms, time.Second)
			want := []int{5 + 9, 10, 10, 10, 10, 10}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("allowed per second: got %v; want %v", got, want)
				}
			}
		})
	}
}

func TestGCRAUnevenInterval(t *testing.T) {
	// 3/s does not divide a second in nanoseconds; rounding T down must
	// still give exactly 3 per second, not 2.
	l, err := NewGCRA(Options{Rule: Rule{Rate: 3, Per: time.Second, Burst: 1}, SweepInterval: -1})
	if err != nil {
		t.Fatalf("NewGCRA: %v", err)
	}
	defer l.Close()
	got := countAllowed(l, "k", 0, 10*time.Second, 10*ms, time.Second)
	for i, n := range got {
		if n != 3 {
			t.Fatalf("second %d: got %d allowed; want 3 (all: %v)", i, n, got)
		}
	}
}
