package upstream

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The breaker, through Do: opens after Failures consecutive 502s; while
// every target is open Do returns *OpenError with RetryAfter ≈ OpenFor; it
// half-opens after OpenFor, a failed probe reopens it and a good one
// closes it.
func TestBreakerThroughDo(t *testing.T) {
	var status atomic.Int64
	status.Store(502)
	srv := startServer(t, func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(int(status.Load())) })
	const openFor = 300 * time.Millisecond
	o := testOptions(Target{URL: srv.URL(), Weight: 1})
	o.Name, o.Breaker = "brk", testBreaker()
	o.Breaker.Failures, o.Breaker.OpenFor = 3, openFor
	u := newUpstream(t, o)
	for i := range 3 {
		if st := u.Stats().Targets[0].BreakerState; st != BreakerClosed {
			t.Fatalf("after %d failures: got %v; want closed", i, st)
		}
		if r := call(u, "GET", "/", nil); r.err != nil || r.status != 502 {
			t.Fatalf("request %d: got %d, %v; want the target's own 502 passed through", i, r.status, r.err)
		}
	}
	if st := u.Stats().Targets[0]; st.BreakerState != BreakerOpen || st.BreakerOpened != 1 || st.Failures != 3 {
		t.Fatalf("after 3 failures: got %+v; want open, opened once", st)
	}
	r := call(u, "GET", "/", nil)
	var oe *OpenError
	if !errors.As(r.err, &oe) || !IsOpen(r.err) || r.target != "" {
		t.Fatalf("open: got %q %v; want *OpenError", r.target, r.err)
	}
	if oe.RetryAfter <= 0 || oe.RetryAfter > openFor || oe.RetryAfter < openFor-200*time.Millisecond {
		t.Fatalf("RetryAfter: got %s; want about %s", oe.RetryAfter, openFor)
	}
	if s := oe.RetryAfterSeconds(); s != 1 {
		t.Fatalf("RetryAfterSeconds: got %d; want 1 (rounded up)", s)
	}
	if got := u.Stats().Targets[0].Requests; got != 3 {
		t.Fatalf("requests sent while open: got %d; want none past the 3", got-3)
	}

	waitFor(t, "the breaker to half-open", 5*time.Second, func() bool {
		return u.Stats().Targets[0].BreakerState == BreakerHalfOpen
	})
	// A failed probe opens it again.
	if r := call(u, "GET", "/", nil); r.err != nil || r.status != 502 {
		t.Fatalf("probe: got %d, %v; want 502", r.status, r.err)
	}
	if st := u.Stats().Targets[0]; st.BreakerState != BreakerOpen || st.BreakerOpened != 2 {
		t.Fatalf("after a failed probe: got %+v; want open again", st)
	}
	waitFor(t, "the breaker to half-open again", 5*time.Second, func() bool {
		return u.Stats().Targets[0].BreakerState == BreakerHalfOpen
	})
	status.Store(200)
	if r := call(u, "GET", "/", nil); r.err != nil || r.status != 200 {
		t.Fatalf("probe: got %d, %v; want 200", r.status, r.err)
	}
	if st := u.Stats().Targets[0].BreakerState; st != BreakerClosed {
		t.Fatalf("after a good probe: got %v; want closed", st)
	}
	if st := u.Stats(); st.Open != 1 {
		t.Fatalf("Stats.Open: got %d; want 1", st.Open)
	}
}

// The breaker alone, on a fake clock: the error-ratio trigger, the
// sliding window forgetting old outcomes, half-open probe slots, and
// outcomes that say nothing about the target.
func TestBreakerRatioAndProbes(t *testing.T) {
	var b breaker
	// Failures is set beyond any run of failures below, so that only the
	// ratio opens the breaker.
	b.init(&Breaker{Failures: 1000, Window: 10 * time.Second, ErrorRatio: 0.5, MinRequests: 10,
		OpenFor: time.Second, HalfOpenRequests: 2})
	now := time.Unix(1_700_000_000, 0).UnixNano()
	sec := int64(time.Second)
	// 4 failures, 5 successes: 9 outcomes, below MinRequests.
	for i := range 9 {
		o := outOK
		if i%2 == 0 {
			o = outBadStatus
		}
		if tr := b.record(now, false, o); tr != noTransition {
			t.Fatalf("outcome %d: got transition %d; want none below MinRequests", i, tr)
		}
	}
	// Neutral outcomes do not count.
	b.record(now, false, outSaturated)
	b.record(now, false, outOther)
	// 11 seconds later the first 9 are out of the window: a 10th outcome,
	// a failure, does not reach MinRequests either.
	if tr := b.record(now+11*sec, false, outConnect); tr != noTransition {
		t.Fatalf("after the window moved: got transition %d; want none", tr)
	}
	// Within one window: 5 failures, 5 successes, ratio 0.5 ≥ 0.5 opens.
	now += 20 * sec
	var tr transition
	for i := range 10 {
		o := outOK
		if i >= 5 {
			o = outTimeout
		}
		tr = b.record(now+int64(i)*sec/2, false, o)
		if i < 9 && tr != noTransition {
			t.Fatalf("outcome %d: got transition %d; want none before the 10th", i, tr)
		}
	}
	if tr != toOpen || b.stateAt(now) != BreakerOpen {
		t.Fatalf("ratio 0.5 over 10 outcomes: got transition %d, state %v; want open", tr, b.stateAt(now))
	}
	openedAt := now + 9*sec/2
	if ok, _ := b.admit(openedAt + sec/2); ok || b.available(openedAt+sec/2) {
		t.Fatalf("admit while open: got true")
	}
	now = openedAt + sec // OpenFor later
	// Half-open: two probe slots, no third.
	ok1, p1 := b.admit(now)
	ok2, p2 := b.admit(now)
	ok3, _ := b.admit(now)
	if !ok1 || !p1 || !ok2 || !p2 || ok3 {
		t.Fatalf("half-open admits: got %v %v %v; want two probes then a refusal", ok1, ok2, ok3)
	}
	if b.available(now) {
		t.Fatalf("available with both probe slots taken: got true")
	}
	// A neutral probe frees its slot without deciding; a stale outcome of
	// a request admitted while closed changes nothing.
	b.record(now, true, outSaturated)
	b.record(now, false, outConnect)
	if b.stateAt(now) != BreakerHalfOpen || !b.available(now) {
		t.Fatalf("after a neutral probe: got %v; want half-open with a slot free", b.stateAt(now))
	}
	if tr := b.record(now, true, outOK); tr != toClosed || b.stateAt(now) != BreakerClosed {
		t.Fatalf("good probe: got transition %d, state %v; want closed", tr, b.stateAt(now))
	}
	// Once closed, the window starts empty: one failure does not reopen it.
	if tr := b.record(now, false, outConnect); tr != noTransition {
		t.Fatalf("first failure after closing: got transition %d; want none", tr)
	}
}

// Consecutive failures: a success in between resets the count.
func TestBreakerConsecutive(t *testing.T) {
	var b breaker
	b.init(&Breaker{Failures: 3, Window: time.Second, MinRequests: 1, OpenFor: time.Second, HalfOpenRequests: 1})
	now := time.Now().UnixNano()
	seq := []outcome{outConnect, outReset, outOK, outConnect, outBadStatus}
	for i, o := range seq {
		if tr := b.record(now, false, o); tr != noTransition {
			t.Fatalf("outcome %d: got transition %d; want none", i, tr)
		}
	}
	if tr := b.record(now, false, outTimeout); tr != toOpen {
		t.Fatalf("third consecutive failure: got transition %d; want open", tr)
	}
	if ra := b.retryAfter(now); ra != time.Second {
		t.Fatalf("retryAfter: got %s; want 1s", ra)
	}
}

// A disabled breaker admits everything and never opens.
func TestBreakerOff(t *testing.T) {
	var b breaker
	b.init(nil)
	now := time.Now().UnixNano()
	for range 100 {
		b.record(now, false, outConnect)
	}
	if ok, probe := b.admit(now); !ok || probe || b.stateAt(now) != BreakerClosed {
		t.Fatalf("disabled breaker: got admit %v probe %v state %v; want admitted, closed", ok, probe, b.stateAt(now))
	}
}
