package bench

import (
	"math"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// metricsOf feeds latencies to vegeta's Metrics one millisecond apart, as
// an attack would, and closes it.
func metricsOf(lat []time.Duration) *vegeta.Metrics {
	var m vegeta.Metrics
	t0 := time.Unix(1_700_000_000, 0)
	for i, d := range lat {
		m.Add(&vegeta.Result{Code: 200, Timestamp: t0.Add(time.Duration(i) * time.Millisecond), Latency: d})
	}
	m.Close()
	return &m
}

func near(a, b, eps float64) bool { return math.Abs(a-b) <= eps }

func TestLatencies(t *testing.T) {
	f := func(name string, lat []time.Duration, p50, p99 float64) {
		t.Helper()
		got50, got99 := latencies(metricsOf(lat))
		if !near(got50, p50, 0.001) || !near(got99, p99, 0.001) {
			t.Fatalf("%s: got p50 %v ms, p99 %v ms; want %v, %v", name, got50, got99, p50, p99)
		}
	}
	ramp := func(n int, unit time.Duration) []time.Duration {
		var out []time.Duration
		for i := 1; i <= n; i++ {
			out = append(out, time.Duration(i)*unit)
		}
		return out
	}
	f("constant", []time.Duration{2 * time.Millisecond, 2 * time.Millisecond, 2 * time.Millisecond}, 2, 2)
	// The t-digest interpolates between neighbouring samples.
	f("1..100 ms", ramp(100, time.Millisecond), 50.5, 99.5)
	f("1..1000 µs", ramp(1000, time.Microsecond), 0.5005, 0.9905)
	tail := make([]time.Duration, 1000)
	for i := range tail {
		tail[i] = time.Millisecond
		if i%10 == 0 {
			tail[i] = 10 * time.Millisecond
		}
	}
	f("10% slow tail", tail, 1, 10)
}

func TestPerSecond(t *testing.T) {
	f := func(n float64, d time.Duration, want float64) {
		t.Helper()
		if got := perSecond(n, d); !near(got, want, 1e-9) {
			t.Fatalf("perSecond(%v, %s): got %v; want %v", n, d, got, want)
		}
	}
	f(1000, time.Second, 1000)
	f(1000, 500*time.Millisecond, 2000)
	// rows/s: 250 responses of 1000 rows in 2.5s.
	f(250*1000, 2500*time.Millisecond, 100_000)
	f(0, time.Second, 0)
	f(10, 0, 0)
	f(10, -time.Second, 0)
}

func TestEfficiency(t *testing.T) {
	f := func(acquires, empty int64, want float64, wantOK bool) {
		t.Helper()
		got, ok := efficiency(acquires, empty)
		if ok != wantOK || !near(got, want, 1e-12) {
			t.Fatalf("efficiency(%d, %d): got %v, %v; want %v, %v", acquires, empty, got, ok, want, wantOK)
		}
	}
	f(1000, 0, 1, true)
	f(1000, 10, 0.99, true)
	f(1000, 1000, 0, true)
	f(100, 250, 0, true) // more waits than acquires: clamped, not negative
	f(0, 0, 0, false)
}

func TestHitRate(t *testing.T) {
	f := func(hits, misses uint64, want float64, wantOK bool) {
		t.Helper()
		got, ok := hitRate(hits, misses)
		if ok != wantOK || !near(got, want, 1e-12) {
			t.Fatalf("hitRate(%d, %d): got %v, %v; want %v, %v", hits, misses, got, ok, want, wantOK)
		}
	}
	f(995, 5, 0.995, true)
	f(0, 10, 0, true)
	f(10, 0, 1, true)
	f(0, 0, 0, false)
}

func TestDelta(t *testing.T) {
	if got := delta[int64](10, 25); got != 15 {
		t.Fatalf("delta(10, 25): got %d; want 15", got)
	}
	if got := delta[uint64](25, 10); got != 0 {
		t.Fatalf("delta(25, 10) after a restart: got %d; want 0", got)
	}
}

func TestErrorRateAndStatus(t *testing.T) {
	f := func(r Result, failed bool, status string) {
		t.Helper()
		if r.Failed() != failed || r.Status() != status {
			t.Fatalf("%+v: got failed %v, status %q; want %v, %q", r, r.Failed(), r.Status(), failed, status)
		}
	}
	f(Result{Requests: 1000, Errors: 1, Target: "x", Pass: true}, false, "pass") // 0.1% is allowed
	f(Result{Requests: 1000, Errors: 2, Target: "x", Pass: true}, true, "ERROR")
	f(Result{Requests: 1000, Target: "x"}, false, "fail")
	f(Result{Requests: 1000}, false, "—")
	f(Result{Failure: "no stats", Target: "x"}, true, "ERROR")
	f(Result{}, false, "—")
	if got := (&Result{Requests: 400, Errors: 1}).ErrorRate(); got != 0.0025 {
		t.Fatalf("ErrorRate: got %v; want 0.0025", got)
	}
}
