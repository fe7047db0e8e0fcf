package engine

import (
	"net"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// BenchmarkUncachedRoute measures a `many` route without a cache: a page
// of 100 rows (the small path: encoded into the response buffer and written
// whole) and a 50,000-row result of about 2.3 MB (the streamed path: read
// from PostgreSQL into a spool while the body is written). The small path
// must not get slower when the streamed one changes.
func BenchmarkUncachedRoute(b *testing.B) {
	ts := startServer(b, parseConfig(b, `
routes:
  - name: page
    path: /page
    sql: SELECT g AS id, 'name ' || g AS name, g * 2 AS score FROM generate_series(1, $1::int) g
    params: [{from: query.n, default: 100}]
    result: many
  - name: one
    path: /one/{id}
    sql: SELECT id, name, qty FROM items WHERE id = $1
    params: [path.id]
    result: one
cache: {stream_threshold_bytes: 1MiB}
`), pgtest.NewDatabase(b, routeSchema))
	b.Run("handler/one", func(b *testing.B) { benchmarkHandler(b, ts, "/one/1") })
	b.Run("handler/rows100", func(b *testing.B) { benchmarkHandler(b, ts, "/page") })
	ln := fasthttputil.NewInmemoryListener()
	defer ln.Close()
	go ts.e.srv.Serve(ln)
	client := &fasthttp.HostClient{Addr: "pgfast", Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConns: 64}
	b.Run("http/rows100", func(b *testing.B) { benchmarkHTTP(b, client, "/page") })
	b.Run("http/rows50000", func(b *testing.B) { benchmarkHTTP(b, client, "/page?n=50000") })
}

// BenchmarkQueryRows is POST /v1/query of 100 rows (one buffered body) over
// an in-memory listener.
func BenchmarkQueryRows(b *testing.B) {
	ts := startServer(b, parseConfig(b, `
accounts:
  - {id: bench, api_token: sk_bench, allowed_operations: [SELECT], max_connections: 4, max_rows: 0}
`), pgtest.NewDatabase(b, routeSchema))
	ln := fasthttputil.NewInmemoryListener()
	defer ln.Close()
	go ts.e.srv.Serve(ln)
	client := &fasthttp.HostClient{Addr: "pgfast", Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConns: 64}
	run := func(b *testing.B, n string) {
		body := []byte(`{"query":"SELECT g AS id, 'name ' || g AS name FROM generate_series(1, $1::int) g","params":[` + n + `]}`)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://pgfast/v1/query")
			req.Header.SetMethod("POST")
			req.Header.Set("Authorization", "Bearer sk_bench")
			req.SetBody(body)
			for pb.Next() {
				if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					b.Fatalf("got %v %d %.200s", err, resp.StatusCode(), resp.Body())
				}
			}
		})
	}
	b.Run("http/rows100", func(b *testing.B) { run(b, "100") })
	b.Run("http/rows20000", func(b *testing.B) { run(b, "20000") })
}
