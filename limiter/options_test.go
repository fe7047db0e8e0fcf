package limiter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestZeroOptionsWork(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("Options{}.Validate(): got %v; want nil", err)
	}
	l, err := New(Options{})
	if err != nil {
		t.Fatalf("New(Options{}): %v", err)
	}
	defer l.Close()
	g, ok := l.(*GCRA)
	if !ok {
		t.Fatalf("New(Options{}): got %T; want *GCRA", l)
	}
	if got, want := g.Rule(), (Rule{Rate: DefaultRate, Per: time.Second, Burst: DefaultRate}); got != want {
		t.Fatalf("default rule: got %v; want %v", got, want)
	}
	if d := l.Allow([]byte("k"), time.Now()); !d.Allowed || d.Limit != DefaultRate || d.Remaining != DefaultRate-1 {
		t.Fatalf("first decision: got %+v; want allowed, limit %d, remaining %d", d, DefaultRate, DefaultRate-1)
	}
}

func TestNewPicksTheAlgorithm(t *testing.T) {
	l, err := New(Options{Algorithm: AlgorithmSlidingWindow, Rule: Rule{Rate: 50, Per: time.Minute}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer l.Close()
	w, ok := l.(*SlidingWindow)
	if !ok {
		t.Fatalf("New(sliding window): got %T; want *SlidingWindow", l)
	}
	if got, want := w.Rule(), (Rule{Rate: 50, Per: time.Minute, Burst: 50}); got != want {
		t.Fatalf("rule: got %v; want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	f := func(o Options, wantIn string) {
		t.Helper()
		err := o.Validate()
		if err == nil {
			t.Fatalf("Validate(%+v): got nil; want an error naming %q", o, wantIn)
		}
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), wantIn) {
			t.Fatalf("Validate(%+v): got %q; want ErrInvalidOptions naming %q", o, err, wantIn)
		}
		if _, err := New(o); err == nil {
			t.Fatalf("New(%+v): got nil error; want %q", o, wantIn)
		}
	}
	f(Options{Algorithm: 7}, "Algorithm")
	f(Options{Rule: Rule{Rate: -1}}, "Rule.Rate")
	f(Options{Rule: Rule{Per: -time.Second}}, "Rule.Per")
	f(Options{Rule: Rule{Burst: -3}}, "Rule.Burst")
	f(Options{Rule: Rule{Rate: 2000, Per: time.Microsecond}}, "more than one request per nanosecond")
	f(Options{Rule: Rule{Rate: 1, Per: time.Hour, Burst: 1 << 40}}, "lower the burst")
	f(Options{Algorithm: AlgorithmSlidingWindow, Rule: Rule{Rate: MaxWindowLimit + 1}}, "use GCRA above it")
	const ms = time.Millisecond
	f(Options{Redis: RedisOptions{URL: "http://x", Timeout: ms}}, "Redis.URL")
	f(Options{Redis: RedisOptions{URL: "redis://x", Timeout: -1}}, "Redis.Timeout")
	// No default here (limits.redis_timeout's 5ms comes from the configuration),
	// and a zero deadline would send every decision to the fallback.
	f(Options{Redis: RedisOptions{URL: "redis://x"}}, "Redis.Timeout = 0s; want a positive duration")
	f(Options{Redis: RedisOptions{URL: "redis://x", Timeout: ms, ProbeInterval: -1}}, "Redis.ProbeInterval")
	f(Options{Rule: Rule{Per: time.Second + time.Nanosecond}, Redis: RedisOptions{URL: "redis://x", Timeout: ms}}, "whole microseconds")
	f(Options{Rule: Rule{Rate: 2_000_000}, Redis: RedisOptions{URL: "redis://x", Timeout: ms}}, "per microsecond")

	// The same rules pass locally, or with the sliding window in Redis.
	ok := func(o Options) {
		t.Helper()
		if err := o.Validate(); err != nil {
			t.Fatalf("Validate(%+v): got %v; want nil", o, err)
		}
	}
	ok(Options{Rule: Rule{Per: time.Second + time.Nanosecond}})
	ok(Options{Rule: Rule{Rate: 2_000_000}})
	ok(Options{Algorithm: AlgorithmSlidingWindow, Rule: Rule{Rate: MaxWindowLimit}, Redis: RedisOptions{URL: "redis://127.0.0.1:1/0", Timeout: time.Millisecond}})
	ok(Options{}) // without Redis, a zero Redis.Timeout is not used
}

func TestStatsJSONNames(t *testing.T) {
	b, err := json.Marshal(Stats{})
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	want := `{"allowed":0,"rejected":0,"keys":0,"redis_errors":0,"fallback_active":false,"fallbacks":0,"outages":0}`
	if string(b) != want {
		t.Fatalf("Stats JSON: got %s; want %s", b, want)
	}
}

func TestCloseIsIdempotentAndStopsTheJanitor(t *testing.T) {
	// goleak in TestMain fails the package if a janitor survives Close.
	for _, alg := range []Algorithm{AlgorithmGCRA, AlgorithmSlidingWindow} {
		l, err := New(Options{Algorithm: alg, SweepInterval: time.Millisecond})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		l.Allow([]byte("k"), time.Now())
		for range 2 {
			if err := l.Close(); err != nil {
				t.Fatalf("%s Close: got %v; want nil", alg, err)
			}
		}
		if d := l.Allow([]byte("k"), time.Now()); !d.Allowed {
			t.Fatalf("%s Allow after Close: got %+v; want allowed", alg, d)
		}
	}
}

func TestJanitorRunsOnItsOwn(t *testing.T) {
	// With the real clock and a short interval, keys whose bucket refilled
	// disappear without anyone calling Sweep.
	l, err := NewGCRA(Options{Rule: Rule{Rate: 1000, Per: time.Second, Burst: 1}, SweepInterval: 5 * ms})
	if err != nil {
		t.Fatalf("NewGCRA: %v", err)
	}
	defer l.Close()
	for _, k := range []string{"a", "b", "c"} {
		l.Allow([]byte(k), time.Now())
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().Keys != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("keys 5s later: got %d; want 0", l.Stats().Keys)
		}
		time.Sleep(5 * ms)
	}
}
