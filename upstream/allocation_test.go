//go:build !race

package upstream

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The balancer's choice allocates nothing, for each algorithm.
func TestPickAllocs(t *testing.T) {
	for _, b := range []Balance{RoundRobin, LeastConn, Hash} {
		o := testOptions(
			Target{URL: "http://10.0.0.1:1", Weight: 1}, Target{URL: "http://10.0.0.2:1", Weight: 2}, Target{URL: "http://10.0.0.3:1", Weight: 3},
		)
		o.Balance, o.Breaker = b, testBreaker()
		u := newUpstream(t, o)
		bl := &u.pool.Load().bl
		allocs := testing.AllocsPerRun(1000, func() {
			var tried triedSet
			n, _ := bl.pick(time.Now().UnixNano(), true, 0x9e3779b97f4a7c15, &tried)
			n.inflight.Add(-1)
		})
		if allocs != 0 {
			t.Fatalf("%s: allocations per pick: got %v; want 0", b, allocs)
		}
	}
}

// doAllocs measures the allocations of one exchange through do against a
// real local fasthttp server, reading the body (streamed or not) into a
// reused buffer.
func doAllocs(t *testing.T, do func(req *fasthttp.Request, resp *fasthttp.Response) error) float64 {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	buf := make([]byte, 4096)
	run := func() {
		req.SetRequestURI("/x?y=1")
		req.Header.SetHost("gateway.test")
		if err := do(req, resp); err != nil {
			t.Fatalf("do: %v", err)
		}
		if s := resp.BodyStream(); s != nil {
			for {
				if _, err := s.Read(buf); err != nil {
					break
				}
			}
			_ = resp.CloseBodyStream()
		}
		if resp.StatusCode() != 200 {
			t.Fatalf("status %d", resp.StatusCode())
		}
	}
	for range 100 { // warm the pools and the connection
		run()
	}
	return testing.AllocsPerRun(2000, run)
}

// Do adds no allocation of its own to fasthttp's: measured against a bare
// HostClient configured the same way (its allocations include the
// in-process server's, which are 0 in fasthttp). With streamed bodies
// fasthttp allocates a few small objects per response (the stream's
// closures); with buffered bodies (MaxResponseBodySize) the exchange
// allocates nothing at all.
func TestDoAllocs(t *testing.T) {
	srv := startServer(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("hello, world") })
	for _, limit := range []int{0, 1 << 20} {
		o := testOptions(Target{URL: srv.URL(), Weight: 1})
		o.MaxResponseBodySize, o.Retries, o.Breaker = limit, 2, testBreaker()
		u := newUpstream(t, o)
		bare := &fasthttp.HostClient{
			Addr: srv.addr, StreamResponseBody: limit == 0, MaxResponseBodySize: limit,
			NoDefaultUserAgentHeader: true, DisablePathNormalizing: true,
		}
		ours := doAllocs(t, func(req *fasthttp.Request, resp *fasthttp.Response) error {
			_, err := u.Do(req, resp, nil)
			return err
		})
		theirs := doAllocs(t, func(req *fasthttp.Request, resp *fasthttp.Response) error {
			req.URI().SetScheme("http")
			req.URI().SetHost(srv.addr)
			req.UseHostHeader = true
			return bare.DoDeadline(req, resp, time.Now().Add(time.Minute))
		})
		bare.CloseIdleConnections()
		t.Logf("MaxResponseBodySize %d: allocations per exchange: Upstream.Do %v, bare HostClient %v", limit, ours, theirs)
		if ours > theirs {
			t.Fatalf("MaxResponseBodySize %d: Upstream.Do allocates %v per exchange; want no more than the bare HostClient's %v",
				limit, ours, theirs)
		}
		if limit > 0 && ours != 0 {
			t.Fatalf("buffered: Upstream.Do allocates %v per exchange; want 0", ours)
		}
	}
}
