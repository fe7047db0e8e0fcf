//go:build !race

package limiter

import (
	"strconv"
	"testing"
	"time"
)

// A decision on a key already seen allocates nothing, for both local
// algorithms, allowed or rejected; so does formatting its headers into a
// buffer the caller reuses. (The race detector allocates on its own, hence
// the build tag.)
func TestDecisionAllocatesNothing(t *testing.T) {
	f := func(name string, l Limiter) {
		t.Helper()
		defer l.Close()
		key := []byte("203.0.113.7")
		now := time.Now()
		l.Allow(key, now)
		buf := make([]byte, 0, 64)
		allocs := testing.AllocsPerRun(1000, func() {
			d := l.Allow(key, now)
			buf = strconv.AppendInt(buf[:0], d.ResetSeconds(), 10)
			buf = strconv.AppendInt(buf, d.RetryAfterSeconds(), 10)
		})
		if allocs != 0 {
			t.Fatalf("%s: allocations per decision: got %v; want 0", name, allocs)
		}
		if st := l.Stats(); st.Rejected == 0 || st.Allowed == 0 {
			t.Fatalf("%s: stats %+v; want both allowed and rejected decisions measured", name, st)
		}
	}
	g, err := NewGCRA(Options{Rule: Rule{Rate: 100, Per: time.Second, Burst: 100}, SweepInterval: -1})
	if err != nil {
		t.Fatalf("NewGCRA: %v", err)
	}
	f("gcra", g)
	w, err := NewSlidingWindow(Options{Rule: Rule{Rate: 100, Per: time.Second}, SweepInterval: -1})
	if err != nil {
		t.Fatalf("NewSlidingWindow: %v", err)
	}
	f("sliding window", w)
}
