package upstream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: health
// checks stop on Close and every test server is shut down. fasthttp's own
// background goroutines are left out: the client's idle-connection cleaner
// and the server's idle-worker cleaner sleep up to 10s before they see
// there is nothing left and exit; the dialer's DNS cache cleaner and the
// server's Date header updater live for the process.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	)
}

// testServer is a fasthttp server on a free loopback port that the test can
// stop and start again on the same port.
type testServer struct {
	t       *testing.T
	addr    string
	handler fasthttp.RequestHandler
	stream  bool // StreamRequestBody

	mu   sync.Mutex
	srv  *fasthttp.Server
	done chan struct{}
	// quit is closed when the server stops, so that handlers holding a
	// request (slow targets) let go.
	quit chan struct{}
}

// startServer starts a server for h on 127.0.0.1:0 and stops it when the
// test ends.
func startServer(t *testing.T, h fasthttp.RequestHandler) *testServer {
	t.Helper()
	return startServerOpts(t, h, false)
}

// startServerOpts is startServer with request body streaming on or off.
func startServerOpts(t *testing.T, h fasthttp.RequestHandler, stream bool) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &testServer{t: t, addr: ln.Addr().String(), handler: h, stream: stream}
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's http URL.
func (s *testServer) URL() string { return "http://" + s.addr }

func (s *testServer) serve(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quit = make(chan struct{})
	s.srv = &fasthttp.Server{Handler: s.handler, StreamRequestBody: s.stream, CloseOnShutdown: true}
	s.done = make(chan struct{})
	srv, done := s.srv, s.done
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
}

// Quit is the channel closed when the server stops.
func (s *testServer) Quit() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quit
}

// Stop shuts the server down (the port is free afterwards). It is
// idempotent.
func (s *testServer) Stop() {
	s.mu.Lock()
	srv, done, quit := s.srv, s.done, s.quit
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	close(quit)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.ShutdownWithContext(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.t.Errorf("shutdown %s: %v", s.addr, err)
	}
	<-done
}

// Restart starts the server again on its port.
func (s *testServer) Restart() {
	s.t.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; Go listeners set SO_REUSEADDR, so
	// the connections in TIME_WAIT do not hold it.
	if ln, err = net.Listen("tcp", s.addr); err != nil {
		s.t.Fatalf("listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// okHandler answers 200 "ok" and /health with 200.
func okHandler(ctx *fasthttp.RequestCtx) {
	ctx.SetBodyString("ok")
}

// testOptions returns valid Options for targets, with the values the
// configuration defaults the required fields to (config/defaults.go): a 1s
// connect timeout, a 10s timeout and 512 connections per target. Callers
// set the rest, and each target's Weight.
func testOptions(targets ...Target) Options {
	return Options{Targets: targets, ConnectTimeout: time.Second, Timeout: 10 * time.Second, MaxConnsPerTarget: 512}
}

// testHealthCheck is a health check of path with the configuration's
// defaults for the rest: every 2s, 1s timeout, 2 to come back, 3 to go out.
func testHealthCheck(path string) *HealthCheck {
	return &HealthCheck{Path: path, Interval: 2 * time.Second, Timeout: time.Second, Healthy: 2, Unhealthy: 3}
}

// testBreaker is a breaker with the configuration's defaults: 5 failures in
// a row, or half of at least 20 outcomes over 10s, open for 30s, 1 probe.
func testBreaker() *Breaker {
	return &Breaker{Failures: 5, Window: 10 * time.Second, ErrorRatio: 0.5, MinRequests: 20,
		OpenFor: 30 * time.Second, HalfOpenRequests: 1}
}

// newUpstream builds an Upstream and closes it when the test ends.
func newUpstream(t testing.TB, o Options) *Upstream {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	u, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(u.Close)
	return u
}

// result is what call returns of one Do.
type result struct {
	target string
	status int
	body   string
	err    error
}

// call sends method path through u, reads the whole body and releases
// everything.
func call(u *Upstream, method, path string, hashKey []byte) result {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.Header.SetHost("gateway.test")
	target, err := u.Do(req, resp, hashKey)
	r := result{target: target, err: err}
	if err != nil {
		return r
	}
	r.status = resp.StatusCode()
	if s := resp.BodyStream(); s != nil {
		b, rerr := io.ReadAll(s)
		if rerr != nil {
			r.err = rerr
		}
		r.body = string(b)
		_ = resp.CloseBodyStream()
	} else {
		r.body = string(resp.Body())
	}
	return r
}

// waitFor polls cond every few milliseconds until it holds or the bounded
// deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// targetStats returns the stats of the target with url.
func targetStats(t *testing.T, u *Upstream, url string) TargetStats {
	t.Helper()
	for _, ts := range u.Stats().Targets {
		if ts.URL == url {
			return ts
		}
	}
	t.Fatalf("no target %s in stats", url)
	return TargetStats{}
}
