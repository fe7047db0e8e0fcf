package upstream

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkDo measures a whole exchange through Do against a local
// fasthttp server over loopback TCP, streamed and buffered, next to a bare
// fasthttp.HostClient as the baseline.
func BenchmarkDo(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("hello, world") }}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown() }()
	addr := ln.Addr().String()
	body := []byte("hello, world")

	run := func(b *testing.B, do func(req *fasthttp.Request, resp *fasthttp.Response) error) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		b.RunParallel(func(pb *testing.PB) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			buf := make([]byte, 4096)
			for pb.Next() {
				req.SetRequestURI("/x")
				req.Header.SetHost("gateway.test")
				if err := do(req, resp); err != nil {
					b.Error(err)
					return
				}
				if s := resp.BodyStream(); s != nil {
					for {
						if _, err := s.Read(buf); err != nil {
							break
						}
					}
					_ = resp.CloseBodyStream()
				}
			}
		})
	}
	for _, mode := range []struct {
		name  string
		limit int
	}{{"stream", 0}, {"buffered", 1 << 20}} {
		b.Run(mode.name, func(b *testing.B) {
			o := testOptions(Target{URL: "http://" + addr, Weight: 1})
			o.MaxResponseBodySize, o.Retries, o.Breaker = mode.limit, 1, testBreaker()
			u := newUpstream(b, o)
			run(b, func(req *fasthttp.Request, resp *fasthttp.Response) error {
				_, err := u.Do(req, resp, nil)
				return err
			})
		})
		b.Run(mode.name+"/baseline-hostclient", func(b *testing.B) {
			hc := &fasthttp.HostClient{Addr: addr, StreamResponseBody: mode.limit == 0, MaxResponseBodySize: mode.limit,
				NoDefaultUserAgentHeader: true, DisablePathNormalizing: true}
			defer hc.CloseIdleConnections()
			run(b, func(req *fasthttp.Request, resp *fasthttp.Response) error {
				req.URI().SetScheme("http")
				req.URI().SetHost(addr)
				req.UseHostHeader = true
				return hc.DoDeadline(req, resp, time.Now().Add(time.Minute))
			})
		})
	}
}
