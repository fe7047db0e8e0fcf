package bench

import (
	"strings"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	f := func(bar bool, want ...string) {
		t.Helper()
		var b strings.Builder
		p := startProgress(&b, bar, "peak", time.Minute)
		for i := range 1500 {
			p.add(i%500 != 0)
		}
		p.finish()
		got := b.String()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Fatalf("bar %v: got %q; want it to contain %q", bar, got, w)
			}
		}
	}
	f(false, "bench: peak   done", "1,500 requests", "3 failed", "\n")
	f(true, "\rpeak   [==============================] 100%", "1,500 requests", "3 failed", "\x1b[K\n")

	// Without a writer it counts and shows nothing.
	p := startProgress(nil, true, "x", time.Second)
	p.add(true)
	p.finish()
	if p.done.Load() != 1 {
		t.Fatalf("got %d done; want 1", p.done.Load())
	}
}
