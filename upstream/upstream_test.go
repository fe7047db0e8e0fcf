package upstream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// deadAddr returns a loopback URL nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

// statusHandler answers every request with code.
func statusHandler(code int) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(code) }
}

// The caller's Host header and request URI reach the target unchanged; a
// request without a Host header gets the target's host:port.
func TestDoKeepsHostAndURI(t *testing.T) {
	srv := startServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(string(ctx.Host()) + " " + string(ctx.RequestURI()) + " " + string(ctx.Request.Header.Peek("User-Agent")))
	})
	u := newUpstream(t, testOptions(Target{URL: srv.URL(), Weight: 1}))
	if r := call(u, "GET", "/a//b/../c?x=1&y=%20", nil); r.err != nil || r.body != "gateway.test /a//b/../c?x=1&y=%20 " || r.target != srv.URL() {
		t.Fatalf("got %q from %s, %v; want \"gateway.test /a//b/../c?x=1&y=%%20 \" from %s (path as sent, no User-Agent added)", r.body, r.target, r.err, srv.URL())
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("/p")
	if _, err := u.Do(req, resp, nil); err != nil {
		t.Fatalf("Do: %v", err)
	}
	body := readAll(t, resp)
	if want := srv.addr + " /p "; body != want {
		t.Fatalf("without a Host header: got %q; want %q", body, want)
	}
}

// readAll reads resp's body, streamed or not, and closes the stream.
func readAll(t *testing.T, resp *fasthttp.Response) string {
	t.Helper()
	if s := resp.BodyStream(); s != nil {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := s.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		_ = resp.CloseBodyStream()
		return b.String()
	}
	return string(resp.Body())
}

// An https target works with the caller's TLS configuration.
func TestDoTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("tls " + r.Host))
	}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	o := testOptions(Target{URL: srv.URL, Weight: 1})
	o.TLS = &tls.Config{RootCAs: roots}
	u := newUpstream(t, o)
	if r := call(u, "GET", "/", nil); r.err != nil || r.status != 200 || r.body != "tls gateway.test" {
		t.Fatalf("got %d %q, %v; want 200 \"tls gateway.test\"", r.status, r.body, r.err)
	}
	// Without the CA the handshake fails: a connect error, 502.
	bad := newUpstream(t, testOptions(Target{URL: srv.URL, Weight: 1}))
	if r := call(bad, "GET", "/", nil); !errors.Is(r.err, ErrNoTarget) {
		t.Fatalf("unknown CA: got %v; want ErrNoTarget", r.err)
	}
	if st := bad.Stats().Targets[0]; st.ConnectErrors != 1 {
		t.Fatalf("unknown CA: got %+v; want 1 connect error", st)
	}
}

// A target slower than Timeout gives ErrTimeout, not a retry.
func TestDoTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := startServer(t, func(ctx *fasthttp.RequestCtx) { <-release })
	t.Cleanup(func() { close(release) })
	fast := startServer(t, okHandler)
	o := testOptions(Target{URL: slow.URL(), Weight: 1}, Target{URL: fast.URL(), Weight: 1})
	o.Timeout, o.Retries = 100*time.Millisecond, 1
	u := newUpstream(t, o)
	start := time.Now()
	r := call(u, "GET", "/", nil) // round robin: the slow target first
	if !errors.Is(r.err, ErrTimeout) || !IsTimeout(r.err) || r.target != slow.URL() {
		t.Fatalf("got %s %v; want ErrTimeout from %s", r.target, r.err, slow.URL())
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("timed out after %s; want about 100ms", d)
	}
	st := u.Stats()
	if st.Timeouts != 1 || st.Retries != 0 || st.Targets[0].Timeouts != 1 || st.Targets[0].Failures != 1 {
		t.Fatalf("stats: got %+v; want one timeout, no retry, counted as a failure", st)
	}
}

// Timeout 0 is no deadline, not a default one: a target slower than the
// old 10s default is not needed to show it, only that Do works without a
// deadline, waits for a slow answer and for a free connection, and still
// retries a dead target and reports its connect error.
func TestDoNoTimeout(t *testing.T) {
	release := make(chan struct{})
	var held atomic.Int64
	srv := startServer(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/hold" {
			held.Add(1)
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		ctx.SetBodyString("ok")
	})
	dead := deadAddr(t)
	o := testOptions(Target{URL: dead, Weight: 1}, Target{URL: srv.URL(), Weight: 1})
	o.Timeout, o.Retries, o.MaxConnsPerTarget = 0, 1, 1
	u := newUpstream(t, o)

	// Round robin: the dead target first, then a retry on the live one.
	if r := call(u, "GET", "/", nil); r.err != nil || r.status != 200 || r.body != "ok" || r.target != srv.URL() {
		t.Fatalf("got %d %q from %s, %v; want 200 \"ok\" from %s after a retry", r.status, r.body, r.target, r.err, srv.URL())
	}
	if st := u.Stats(); st.Retries != 1 || st.Targets[0].ConnectErrors != 1 || st.Timeouts != 0 {
		t.Fatalf("stats: got %+v; want a connect error (not a timeout) and a retry", st)
	}

	// One connection: a request that finds it busy waits for it rather
	// than failing with ErrNoFreeConns.
	one := testOptions(Target{URL: srv.URL(), Weight: 1})
	one.Timeout, one.MaxConnsPerTarget = 0, 1
	u1 := newUpstream(t, one)
	first := make(chan result, 1)
	go func() { first <- call(u1, "GET", "/hold", nil) }()
	waitFor(t, "the first request to be held", 5*time.Second, func() bool { return held.Load() == 1 })
	second := make(chan result, 1)
	go func() { second <- call(u1, "GET", "/", nil) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-second:
		t.Fatalf("request to the busy target: got %+v at once; want it to wait for the connection", r)
	default:
	}
	close(release)
	for _, r := range []result{<-first, <-second} {
		if r.err != nil || r.status != 200 || r.body != "ok" {
			t.Fatalf("got %+v; want 200 \"ok\"", r)
		}
	}
	if st := u1.Stats().Targets[0]; st.Saturated != 0 || st.Requests != 2 {
		t.Fatalf("stats: got %+v; want 2 requests, none refused as saturated", st)
	}
}

// Without a Timeout, ConnectTimeout still bounds the TLS handshake: a
// target that accepts and never answers it is a connect error, retried
// elsewhere, not a request that hangs.
func TestTLSHandshakeBoundedWithoutTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var conns sync.WaitGroup
	quit := make(chan struct{})
	t.Cleanup(func() {
		close(quit)
		_ = ln.Close()
		conns.Wait()
	})
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				<-quit // silent: no ServerHello
				_ = c.Close()
			}()
		}
	}()
	mute := "https://" + ln.Addr().String()
	o := testOptions(Target{URL: mute, Weight: 1})
	o.Timeout, o.ConnectTimeout = 0, 100*time.Millisecond
	u := newUpstream(t, o)
	start := time.Now()
	r := call(u, "GET", "/", nil)
	if !errors.Is(r.err, ErrNoTarget) || !errors.Is(r.err, fasthttp.ErrTLSHandshakeTimeout) {
		t.Fatalf("got %v; want ErrNoTarget wrapping fasthttp.ErrTLSHandshakeTimeout", r.err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("gave up after %s; want about 100ms (ConnectTimeout)", d)
	}
	if st := u.Stats().Targets[0]; st.ConnectErrors != 1 {
		t.Fatalf("stats: got %+v; want 1 connect error", st)
	}
}

// No target up: ErrNoTarget at once, no target tried. A dead target
// (connection refused) with no other to retry: ErrNoTarget wrapping the
// connect error.
func TestNoTarget(t *testing.T) {
	sick := startServer(t, statusHandler(500))
	o := testOptions(Target{URL: sick.URL(), Weight: 1})
	o.Name = "sick"
	o.HealthCheck = &HealthCheck{Path: "/health", Interval: 5 * time.Millisecond, Timeout: time.Second, Unhealthy: 2, Healthy: 1}
	u := newUpstream(t, o)
	waitFor(t, "the health check to mark the target down", 5*time.Second, func() bool { return !u.Stats().Targets[0].Up })
	r := call(u, "GET", "/", nil)
	if r.err != ErrNoTarget || r.target != "" || !IsNoTarget(r.err) {
		t.Fatalf("got %q %v; want ErrNoTarget and no target", r.target, r.err)
	}
	if st := u.Stats(); st.NoTarget != 1 || st.Targets[0].Requests != 0 {
		t.Fatalf("stats: got %+v; want NoTarget 1 and no request sent", st)
	}

	dead := deadAddr(t)
	o2 := testOptions(Target{URL: dead, Weight: 1})
	o2.Retries = 2
	u2 := newUpstream(t, o2)
	r = call(u2, "GET", "/", nil)
	var oe *net.OpError
	if !errors.Is(r.err, ErrNoTarget) || !errors.As(r.err, &oe) || r.target != dead {
		t.Fatalf("refused: got %q %v; want ErrNoTarget wrapping a *net.OpError from %s", r.target, r.err, dead)
	}
	if st := u2.Stats(); st.BadGateway != 1 || st.Targets[0].ConnectErrors != 1 || st.Retries != 0 {
		t.Fatalf("stats: got %+v; want one bad gateway, one connect error and no retry (no other target)", st)
	}
}

// GET is retried on another target after a connect error or a 502/503/504;
// POST and a request with a body stream are not.
func TestRetries(t *testing.T) {
	bad := startServer(t, statusHandler(503))
	good := startServer(t, okHandler)
	dead := deadAddr(t)
	o := testOptions(Target{URL: bad.URL(), Weight: 1}, Target{URL: dead, Weight: 1}, Target{URL: good.URL(), Weight: 1})
	o.Retries = 2
	u := newUpstream(t, o)
	for i := range 30 {
		if r := call(u, "GET", "/", nil); r.err != nil || r.status != 200 || r.target != good.URL() {
			t.Fatalf("GET %d: got %d from %s, %v; want 200 from %s", i, r.status, r.target, r.err, good.URL())
		}
	}
	st := u.Stats()
	if st.Retries == 0 || st.Targets[0].Retries == 0 || st.Targets[1].Retries == 0 || st.Targets[2].Retries != 0 {
		t.Fatalf("GET stats: got %+v; want retries away from the 503 and the dead targets", st)
	}

	before := u.Stats().Retries
	statuses := map[int]int{}
	errs := 0
	for range 30 {
		r := call(u, "POST", "/", nil)
		if r.err != nil {
			errs++
			continue
		}
		statuses[r.status]++
	}
	if after := u.Stats().Retries; after != before {
		t.Fatalf("POST: %d retries; want none", after-before)
	}
	// Round robin: a third each to the 503 target, the dead one, the good one.
	if statuses[503] != 10 || statuses[200] != 10 || errs != 10 {
		t.Fatalf("POST: got statuses %v and %d errors; want 10×503, 10×200, 10 errors (no retry)", statuses, errs)
	}

	// A body stream is not retried either, even with PUT.
	streamErrs := 0
	for range 30 {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.Header.SetMethod("PUT")
		req.SetRequestURI("/")
		req.SetBodyStream(strings.NewReader("body"), 4)
		_, err := u.Do(req, resp, nil)
		if err != nil || resp.StatusCode() != 200 {
			streamErrs++
		}
		if err == nil {
			readAll(t, resp)
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
	if after := u.Stats().Retries; after != before || streamErrs != 20 {
		t.Fatalf("PUT with a body stream: %d retries, %d failed; want no retry and 20 failed", after-before, streamErrs)
	}
}

// When every target fails, the last answer passes through (an upstream's
// own 5xx is not an error of ours).
func TestRetriesExhaustedPassThrough(t *testing.T) {
	a := startServer(t, statusHandler(502))
	b := startServer(t, statusHandler(504))
	o := testOptions(Target{URL: a.URL(), Weight: 1}, Target{URL: b.URL(), Weight: 1})
	o.Retries = 5
	u := newUpstream(t, o)
	r := call(u, "GET", "/", nil)
	if r.err != nil || r.status != 504 || r.target != b.URL() {
		t.Fatalf("got %d from %s, %v; want the second target's 504", r.status, r.target, r.err)
	}
	if st := u.Stats(); st.Retries != 1 {
		t.Fatalf("retries: got %d; want 1 (each target once)", st.Retries)
	}
}

// One target of three is stopped under a steady concurrent GET load: no
// client request fails (retries), the health check takes it out, and once
// it is started again on the same port it is brought back and gets
// requests again.
func TestTargetKilledAndRestarted(t *testing.T) {
	var servers []*testServer
	var targets []Target
	for range 3 {
		s := startServer(t, okHandler)
		servers = append(servers, s)
		targets = append(targets, Target{URL: s.URL(), Weight: 1})
	}
	o := testOptions(targets...)
	o.Name, o.Retries, o.Timeout = "killed", 2, 10*time.Second
	o.HealthCheck = &HealthCheck{Path: "/health", Interval: 10 * time.Millisecond, Timeout: time.Second, Healthy: 2, Unhealthy: 2}
	o.Breaker = testBreaker()
	o.Breaker.Failures, o.Breaker.OpenFor = 3, 50*time.Millisecond
	u := newUpstream(t, o)
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r := call(u, "GET", "/", nil); r.err != nil || r.status != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, r)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	var once sync.Once
	stopLoad := func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
		})
	}
	defer stopLoad()
	progress := func(n int64) {
		t.Helper()
		from := ok.Load()
		waitFor(t, "load to make progress", 10*time.Second, func() bool { return ok.Load() >= from+n })
	}
	victim := servers[2]
	progress(300)
	victim.Stop()
	waitFor(t, "the health check to mark the stopped target down", 10*time.Second, func() bool {
		return !targetStats(t, u, victim.URL()).Up
	})
	progress(300)
	victim.Restart()
	waitFor(t, "the restarted target to be up", 10*time.Second, func() bool {
		return targetStats(t, u, victim.URL()).Up
	})
	served := targetStats(t, u, victim.URL()).Codes[1]
	waitFor(t, "the restarted target to serve again", 10*time.Second, func() bool {
		return targetStats(t, u, victim.URL()).Codes[1] > served+50
	})
	stopLoad()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d client requests failed; want 0 (first: %+v)", n, n+ok.Load(), firstErr.Load())
	}
	st := u.Stats()
	vs := targetStats(t, u, victim.URL())
	if st.Retries == 0 || vs.ConnectErrors+vs.Resets == 0 {
		t.Fatalf("stats: got %+v; want retries away from the stopped target", st)
	}
	t.Logf("%d requests, %d retries; stopped target: %d connect errors, %d resets, breaker opened %d times",
		ok.Load(), st.Retries, vs.ConnectErrors, vs.Resets, vs.BreakerOpened)
}

// Adopt keeps targets with their breaker and health state across a reload
// with the same options, keeps their health checks running after the old
// Upstream closes, and refuses changed options.
func TestAdopt(t *testing.T) {
	bad := startServer(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/health" {
			ctx.SetStatusCode(502)
		}
	})
	good := startServer(t, okHandler)
	opts := func() Options {
		o := testOptions(Target{URL: bad.URL(), Weight: 1}, Target{URL: good.URL(), Weight: 1})
		o.Name = "reload"
		o.HealthCheck = &HealthCheck{Path: "/health", Interval: 5 * time.Millisecond, Timeout: time.Second, Healthy: 1, Unhealthy: 1}
		o.Breaker = testBreaker()
		o.Breaker.Failures, o.Breaker.OpenFor = 2, time.Hour
		o.TLS = &tls.Config{ServerName: "x"} // a new pointer each time, as a reload builds
		return o
	}
	old := newUpstream(t, opts())
	for range 4 {
		call(old, "GET", "/", nil)
	}
	if st := targetStats(t, old, bad.URL()); st.BreakerState != BreakerOpen {
		t.Fatalf("before the reload: got %v; want the 502 target's breaker open", st.BreakerState)
	}
	requests := old.Stats().Requests

	changed := opts()
	changed.Breaker.Failures = 3
	other := newUpstream(t, changed)
	if other.Adopt(old) {
		t.Fatalf("Adopt with a changed breaker: got true; want false")
	}

	nextOpts := opts()
	nextOpts.Retries = 1 // Retries may change
	next := newUpstream(t, nextOpts)
	if !next.Adopt(old) {
		t.Fatalf("Adopt with the same options: got false; want true")
	}
	if third := newUpstream(t, opts()); third.Adopt(old) {
		t.Fatalf("Adopt of targets already adopted: got true; want false")
	}
	old.Close()
	st := next.Stats()
	if st.Requests != requests || targetStats(t, next, bad.URL()).BreakerState != BreakerOpen {
		t.Fatalf("after the reload: got %+v; want the old counters and the open breaker", st)
	}
	for range 10 {
		if r := call(next, "GET", "/", nil); r.err != nil || r.target != good.URL() {
			t.Fatalf("after the reload: got %s %v; want the good target (the other's breaker is open)", r.target, r.err)
		}
	}
	// Health checks still run though old is closed: stopping the good
	// target takes it down.
	good.Stop()
	waitFor(t, "the adopted health check to mark the stopped target down", 5*time.Second, func() bool {
		return !targetStats(t, next, good.URL()).Up
	})
	// The other target is up but its breaker is open.
	var oe *OpenError
	if r := call(next, "GET", "/", nil); !errors.As(r.err, &oe) || oe.RetryAfter < 59*time.Minute {
		t.Fatalf("got %v; want an *OpenError with about an hour to wait", r.err)
	}
	if next.Adopt(next) || next.Adopt(nil) {
		t.Fatalf("Adopt of itself or nil: got true; want false")
	}
}
