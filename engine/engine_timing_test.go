package engine

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pgfast/pgfast/embedpg/pgtest"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchmarkHandler serves path through the engine's outermost handler with
// a RequestCtx per goroutine, as keep-alive connections do, so the figure
// is the engine's own cost without the network.
func benchmarkHandler(b *testing.B, ts *testServer, path string, headers ...string) {
	b.Helper()
	newCtx := func() *fasthttp.RequestCtx {
		var req fasthttp.Request
		req.Header.SetMethod("GET")
		req.SetRequestURI(path)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		ctx := &fasthttp.RequestCtx{}
		ctx.Init(&req, nil, nil)
		return ctx
	}
	warm := newCtx()
	ts.e.handle(warm)
	ts.e.cache.Wait()
	ts.e.handle(warm)
	if warm.Response.StatusCode() != 200 {
		b.Fatalf("warm-up: got %d %s", warm.Response.StatusCode(), warm.Response.Body())
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := newCtx()
		for pb.Next() {
			ctx.Response.Reset()
			ts.e.handle(ctx)
		}
	})
}

// BenchmarkCachedRoute compares a cached route with token auth and a rate
// limit against the same route with neither (issue: the protected one may
// cost at most 1.3x), and /ping as the engine's floor.
func BenchmarkCachedRoute(b *testing.B) {
	ts := startServer(b, parseConfig(b, `
routes:
  - name: open
    path: /open/{id}
    sql: SELECT customer_id, name FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 60s
  - name: guarded
    path: /guarded/{id}
    sql: SELECT customer_id, name FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 60s
    auth: token
    rate_limit: {rate: 1000000000/s, burst: 1000000000}
  - name: jwt
    path: /jwt/{id}
    sql: SELECT customer_id, name FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 60s
    auth: jwt
    rate_limit: {rate: 1000000000/s, burst: 1000000000}
accounts:
  - {id: bench, api_token: sk_bench_token_0123456789, allowed_operations: [SELECT]}
auth: {jwt: {secret: "`+jwtSecret+`"}}
limits: {key: jwt.sub}
cache: {max_bytes: 16MiB}
`), pgtest.NewDatabase(b, routeSchema))
	token := "Bearer " + signHS(b, jwt.MapClaims{"sub": "bench", "exp": time.Now().Add(time.Hour).Unix()}, jwtSecret)
	b.Run("handler/ping", func(b *testing.B) { benchmarkHandler(b, ts, "/ping") })
	b.Run("handler/cached", func(b *testing.B) { benchmarkHandler(b, ts, "/open/7") })
	b.Run("handler/cached+auth+limit", func(b *testing.B) {
		benchmarkHandler(b, ts, "/guarded/7", "Authorization", "Bearer sk_bench_token_0123456789")
	})
	b.Run("handler/cached+jwt+limit", func(b *testing.B) { benchmarkHandler(b, ts, "/jwt/7", "Authorization", token) })
	// The same over HTTP on an in-memory listener: request parsing and
	// response writing included, the network not.
	ln := fasthttputil.NewInmemoryListener()
	defer ln.Close()
	go ts.e.srv.Serve(ln)
	client := &fasthttp.HostClient{Addr: "pgfast", Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConns: 64}
	b.Run("http/ping", func(b *testing.B) { benchmarkHTTP(b, client, "/ping") })
	b.Run("http/cached", func(b *testing.B) { benchmarkHTTP(b, client, "/open/7") })
	b.Run("http/cached+auth+limit", func(b *testing.B) {
		benchmarkHTTP(b, client, "/guarded/7", "Authorization", "Bearer sk_bench_token_0123456789")
	})
	b.Run("http/cached+jwt+limit", func(b *testing.B) { benchmarkHTTP(b, client, "/jwt/7", "Authorization", token) })
}

func benchmarkHTTP(b *testing.B, c *fasthttp.HostClient, path string, headers ...string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://pgfast" + path)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		for pb.Next() {
			if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				b.Fatalf("got %v %d", err, resp.StatusCode())
			}
		}
	})
}

// BenchmarkBatch100 is POST /v1/batch of 100 primary-key SELECTs over
// loopback HTTP: one pipelined round trip to PostgreSQL per batch.
func BenchmarkBatch100(b *testing.B) {
	ts := startServer(b, parseConfig(b, `
accounts:
  - {id: bench, api_token: sk_bench, allowed_operations: [SELECT], max_connections: 4}
`), pgtest.NewDatabase(b, routeSchema))
	var body strings.Builder
	body.WriteString(`{"queries":[`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"query":"SELECT customer_id, name FROM customer WHERE customer_id = $1","params":[%d]}`, i%50+1)
	}
	body.WriteString(`]}`)
	payload := body.String()
	do(b, "POST", ts.url+"/v1/batch", payload, "Authorization", "Bearer sk_bench").expect(b, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := do(b, "POST", ts.url+"/v1/batch", payload, "Authorization", "Bearer sk_bench")
		if r.status != 200 {
			b.Fatalf("got %d", r.status)
		}
	}
}
