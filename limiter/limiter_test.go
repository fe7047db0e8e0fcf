package limiter

import (
	"testing"
	"time"
)

func TestCeilSeconds(t *testing.T) {
	f := func(d time.Duration, want int64) {
		t.Helper()
		if got := CeilSeconds(d); got != want {
			t.Fatalf("CeilSeconds(%s): got %d; want %d", d, got, want)
		}
	}
	f(-time.Second, 0)
	f(0, 0)
	f(time.Nanosecond, 1)
	f(999*time.Millisecond, 1)
	f(time.Second, 1)
	f(time.Second+time.Nanosecond, 2)
	f(59*time.Second+500*time.Millisecond, 60)
	f(time.Hour, 3600)
}

func TestDecisionSeconds(t *testing.T) {
	f := func(d Decision, reset, retry int64) {
		t.Helper()
		if got := d.ResetSeconds(); got != reset {
			t.Fatalf("ResetSeconds(%+v): got %d; want %d", d, got, reset)
		}
		if got := d.RetryAfterSeconds(); got != retry {
			t.Fatalf("RetryAfterSeconds(%+v): got %d; want %d", d, got, retry)
		}
	}
	f(Decision{Allowed: true, Reset: 100 * time.Millisecond}, 1, 0)
	f(Decision{Allowed: true}, 0, 0)
	f(Decision{Allowed: false, Reset: 2500 * time.Millisecond, RetryAfter: time.Nanosecond}, 3, 1)
	f(Decision{Allowed: false, Reset: time.Second, RetryAfter: 1200 * time.Millisecond}, 1, 2)
}
