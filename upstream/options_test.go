package upstream

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	one := []Target{{URL: "http://127.0.0.1:9001", Weight: 1}}
	valid := func() Options { return testOptions(one...) }
	with := func(change func(o *Options)) Options {
		o := valid()
		o.HealthCheck, o.Breaker = testHealthCheck("/health"), testBreaker()
		change(&o)
		return o
	}
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
	targets := func(ts ...Target) Options { return testOptions(ts...) }
	f(Options{}, "Targets is empty")
	f(targets(), "Targets is empty")
	f(targets(make([]Target, MaxTargets+1)...), "at most 256")
	f(targets(Target{URL: "ftp://x:1", Weight: 1}), "want an http:// or https:// URL")
	f(targets(Target{URL: "http://", Weight: 1}), "no host")
	f(targets(Target{URL: "http://u:p@x:1", Weight: 1}), "user info")
	f(targets(Target{URL: "http://x:1/api", Weight: 1}), "no path")
	f(targets(Target{URL: "http://x:1?a=1", Weight: 1}), "no path")
	f(targets(Target{URL: "http://x:99999", Weight: 1}), "bad port")
	f(targets(Target{URL: "http://x:1", Weight: -1}), "Targets[0].Weight")
	f(targets(Target{URL: "http://x:1"}), "Targets[0].Weight = 0")
	f(targets(Target{URL: "http://x:1", Weight: maxWeight + 1}), "Targets[0].Weight")
	f(targets(Target{URL: "http://x:80", Weight: 1}, Target{URL: "http://x", Weight: 1}), "listed twice")
	f(with(func(o *Options) { o.Balance = 9 }), "Balance")
	// A zero means zero: the fields that cannot be zero are refused, not
	// defaulted.
	f(with(func(o *Options) { o.ConnectTimeout = 0 }), "ConnectTimeout = 0s")
	f(with(func(o *Options) { o.ConnectTimeout = -1 }), "ConnectTimeout")
	f(with(func(o *Options) { o.Timeout = -1 }), "Timeout")
	f(with(func(o *Options) { o.MaxConnsPerTarget = 0 }), "MaxConnsPerTarget = 0")
	f(with(func(o *Options) { o.MaxConnsPerTarget = -1 }), "MaxConnsPerTarget")
	f(with(func(o *Options) { o.Retries = -1 }), "Retries")
	f(with(func(o *Options) { o.MaxResponseBodySize = -1 }), "MaxResponseBodySize")
	f(with(func(o *Options) { o.HealthCheck.Path = "" }), "HealthCheck.Path")
	f(with(func(o *Options) { o.HealthCheck.Path = "health" }), "HealthCheck.Path")
	f(with(func(o *Options) { o.HealthCheck.Interval = 0 }), "HealthCheck.Interval")
	f(with(func(o *Options) { o.HealthCheck.Interval = -time.Second }), "HealthCheck.Interval")
	f(with(func(o *Options) { o.HealthCheck.Timeout = 0 }), "HealthCheck.Timeout")
	f(with(func(o *Options) { o.HealthCheck.Healthy = 0 }), "HealthCheck.Healthy")
	f(with(func(o *Options) { o.HealthCheck.Unhealthy = 0 }), "HealthCheck.Unhealthy")
	f(with(func(o *Options) { o.HealthCheck.Unhealthy = -1 }), "HealthCheck.Unhealthy")
	f(with(func(o *Options) { o.HealthCheck = &HealthCheck{} }), "HealthCheck.Path")
	f(with(func(o *Options) { o.Breaker.Failures = 0 }), "Breaker.Failures")
	f(with(func(o *Options) { o.Breaker.Failures = -1 }), "Breaker.Failures")
	f(with(func(o *Options) { o.Breaker.Window = 0 }), "Breaker.Window")
	f(with(func(o *Options) { o.Breaker.ErrorRatio = 1.5 }), "Breaker.ErrorRatio")
	f(with(func(o *Options) { o.Breaker.ErrorRatio = -0.1 }), "Breaker.ErrorRatio")
	f(with(func(o *Options) { o.Breaker.MinRequests = 0 }), "Breaker.MinRequests")
	f(with(func(o *Options) { o.Breaker.OpenFor = 0 }), "Breaker.OpenFor")
	f(with(func(o *Options) { o.Breaker.OpenFor = -1 }), "Breaker.OpenFor")
	f(with(func(o *Options) { o.Breaker.HalfOpenRequests = 0 }), "Breaker.HalfOpenRequests")
	f(with(func(o *Options) { o.Breaker = &Breaker{} }), "Breaker.Failures")

	ok := func(o Options) {
		t.Helper()
		if err := o.Validate(); err != nil {
			t.Fatalf("Validate(%+v): %v", o, err)
		}
	}
	ok(valid())
	ok(targets(Target{URL: "https://api.example.com", Weight: 1}, Target{URL: "http://[::1]:8080/", Weight: 3}))
	ok(with(func(*Options) {}))
	// The zeros that mean something: no timeout, no retries, streamed
	// bodies, no ratio trigger, round robin; and no health check, no
	// breaker, no TLS configuration, the default logger.
	ok(with(func(o *Options) {
		o.Timeout, o.Retries, o.MaxResponseBodySize, o.Breaker.ErrorRatio, o.Balance = 0, 0, 0, 0, RoundRobin
	}))
	ok(with(func(o *Options) { o.HealthCheck, o.Breaker, o.TLS, o.Logger = nil, nil, nil, nil }))
}

// New keeps o as given: it sets no field but a nil Logger, and keeps
// copies of what the caller may change afterwards.
func TestNewKeepsOptions(t *testing.T) {
	o := testOptions(Target{URL: "http://x:1", Weight: 1})
	o.Timeout = 0
	o.HealthCheck, o.Breaker = testHealthCheck("/health"), testBreaker()
	o.Breaker.ErrorRatio = 0
	u, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer u.Close()
	got := u.opts
	if got.Logger != slog.Default() {
		t.Fatalf("Logger: got %v; want slog.Default()", got.Logger)
	}
	got.Logger = nil
	if !sameOptions(&got, &o) || got.Retries != o.Retries || u.timeout != 0 {
		t.Fatalf("New changed the options: got %+v; want %+v", got, o)
	}
	o.Targets[0].Weight, o.HealthCheck.Interval, o.Breaker.Failures = 7, time.Hour, 99
	if got.Targets[0].Weight != 1 || got.HealthCheck.Interval != 2*time.Second || got.Breaker.Failures != 5 {
		t.Fatalf("the Upstream shares the caller's Targets, HealthCheck or Breaker: got %+v", got)
	}
	if b := &u.pool.Load().bl.targets[0].br; b.ratio != 0 || b.failures != 5 {
		t.Fatalf("breaker: got ratio %v, failures %d; want 0 (off) and 5", b.ratio, b.failures)
	}
	p, err := parseTarget("https://api.example.com")
	if err != nil || p.addr != "api.example.com:443" || p.scheme != "https" {
		t.Fatalf("parseTarget: got %+v, %v; want api.example.com:443 over https", p, err)
	}
}

func TestStrings(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("got %q; want %q", got, want)
		}
	}
	f(RoundRobin.String(), "round_robin")
	f(LeastConn.String(), "least_conn")
	f(Hash.String(), "hash")
	f(Balance(7).String(), "Balance(7)")
	f(BreakerClosed.String(), "closed")
	f(BreakerHalfOpen.String(), "half_open")
	f(BreakerOpen.String(), "open")
	f((&OpenError{Upstream: "u", RetryAfter: 1500 * time.Millisecond}).Error(),
		`upstream "u": every target's circuit breaker is open; next probe in 1.5s (circuit_breaker.open_for)`)
}
