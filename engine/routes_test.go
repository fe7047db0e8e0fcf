package engine

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

const routeSchema = querySchema + `
CREATE SEQUENCE probe;
CREATE TABLE customer (customer_id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO customer SELECT g, 'name ' || g FROM generate_series(1, 50) g;
`

const routeConfig = `
routes:
  - name: item
    path: /items/{id}
    sql: SELECT id, name, qty FROM items WHERE id = $1
    params: [path.id]
    result: one
    cache: 60s
  - name: items
    path: /items
    sql: SELECT id, name FROM items WHERE id > $1 ORDER BY id LIMIT $2
    params: [{from: query.after, default: 0}, {from: query.limit, default: 2, max: 3}]
    result: many
  - name: count
    path: /items-count
    sql: SELECT count(*) FROM items
    result: value
  - name: probe
    path: /probe/{id}
    sql: SELECT customer_id, name, nextval('probe') AS run FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 60s
    invalidate_on: [customer]
  - name: settings
    path: /settings
    sql: SELECT current_setting('work_mem') AS work_mem, current_setting('TimeZone') AS tz, now()::timestamptz AS t
    result: one
    settings: {work_mem: 3MB, TimeZone: Asia/Kolkata}
  - name: slow
    path: /slow
    sql: SELECT pg_sleep(2)::text AS slept
    timeout: 100ms
  - name: byheader
    path: /who
    sql: SELECT $1::text AS who
    params: [{from: header.X-User, required: true}]
    result: value
  - name: big
    path: /big
    sql: SELECT g AS n, repeat('x', 200) AS pad FROM generate_series(1, $1::int) g
    params: [{from: query.n, default: 10}]
    result: many
    cache: 60s
  - name: wide
    path: /wide
    sql: SELECT g AS n, repeat('y', 100) AS pad FROM generate_series(1, 30) g
    result: many
    cache: 60s
cache: {max_bytes: 16MiB, stream_threshold_bytes: 64KiB}
`

func startRouteServer(t *testing.T, dbURL string) *testServer {
	t.Helper()
	return startServer(t, parseConfig(t, routeConfig), dbURL)
}

func TestRouteResults(t *testing.T) {
	ts := startRouteServer(t, pgtest.NewDatabase(t, routeSchema))
	get(t, ts.url+"/items/2").expect(t, 200, `{"id":2,"name":"two","qty":2}`)
	get(t, ts.url+"/items/99").expect(t, 404, `"code":"not_found"`)
	get(t, ts.url+"/items/abc").expect(t, 400, `path.id: \"abc\" is not a valid int4`)
	get(t, ts.url+"/items").expect(t, 200, `[{"id":1,"name":"one"},{"id":2,"name":"two"}]`)
	get(t, ts.url+"/items?after=1&limit=1").expect(t, 200, `[{"id":2,"name":"two"}]`)
	r := get(t, ts.url+"/items?limit=1000") // capped at max 3
	r.expect(t, 200, `[{"id":1,"name":"one"},{"id":2,"name":"two"},{"id":3,"name":"three"}]`)
	get(t, ts.url+"/items?limit=x").expect(t, 400, "query.limit")
	get(t, ts.url+"/items-count").expect(t, 200)
	if r := get(t, ts.url+"/items-count"); r.body != "3" {
		t.Fatalf("value route: got %q; want 3", r.body)
	}
	do(t, "POST", ts.url+"/items/1", "").expect(t, 405, `"code":"method_not_allowed"`)
	get(t, ts.url+"/who").expect(t, 400, "missing required parameter header.X-User")
	if r := get(t, ts.url+"/who", "X-User", "ada"); r.body != `"ada"` {
		t.Fatalf("header param: got %q; want \"ada\"", r.body)
	}
	// Settings travel with the query and stay local to it.
	get(t, ts.url+"/settings").expect(t, 200, `"work_mem":"3MB"`, `"tz":"Asia/Kolkata"`, `+05:30"`)
	get(t, ts.url+"/items/1").expect(t, 200)
	// New connections get every route prepared in AfterConnect.
	ts.e.state.Load().dbs["main"].pool.Reset()
	for i := 0; i < 3; i++ {
		get(t, ts.url+"/items?after=0").expect(t, 200, `{"id":1,"name":"one"}`)
		get(t, ts.url+"/settings").expect(t, 200, `"work_mem":"3MB"`)
	}
	// A route timeout is a 504 with PostgreSQL's SQLSTATE.
	get(t, ts.url+"/slow").expect(t, 504, `"code":"query_timeout"`, `"sqlstate":"57014"`)
}

func TestRouteCacheHeadersAndPurge(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, routeSchema)
	ts := startRouteServer(t, dbURL)
	r1 := get(t, ts.url+"/probe/7")
	r1.expect(t, 200, `"customer_id":7`, `"run":1`)
	etag := r1.header.Get("ETag")
	if etag == "" || r1.header.Get("Cache-Control") != "max-age=60" {
		t.Fatalf("got ETag %q Cache-Control %q; want both", etag, r1.header.Get("Cache-Control"))
	}
	get(t, ts.url+"/probe/7").expect(t, 200, `"run":1`) // from cache
	get(t, ts.url+"/probe/7", "If-None-Match", etag).expect(t, 304)
	get(t, ts.url+"/probe/8").expect(t, 200, `"run":2`)
	// Compressed variants, made once when stored.
	req, _ := http.NewRequest("GET", ts.url+"/wide", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("got Content-Encoding %q; want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !strings.HasPrefix(string(plain), `[{"n":1,"pad":"yyy`) {
		t.Fatalf("gzip body decodes to %q", clip(string(plain)))
	}
	// Admin purge of one route, then all.
	do(t, "POST", ts.admin+"/admin/cache/purge?route=probe", "").expect(t, 200, `"routes":1`)
	get(t, ts.url+"/probe/7").expect(t, 200, `"run":3`)
	do(t, "POST", ts.admin+"/admin/cache/purge?route=nope", "").expect(t, 404)
	do(t, "POST", ts.admin+"/admin/cache/purge", "").expect(t, 200)
	get(t, ts.url+"/probe/7").expect(t, 200, `"run":4`)
	get(t, ts.admin+"/metrics").expect(t, 200, "pgfast_cache_hits_total", "pgfast_cache_misses_total", "pgfast_cache_evictions_total")
	get(t, ts.admin+"/admin/stats").expect(t, 200, `"cache":{`)
}

func TestConcurrentMissesRunOneQuery(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, routeSchema)
	ts := startRouteServer(t, dbURL)
	const n = 500
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan string, n)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := client.Get(ts.url + "/probe/9")
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), `"run":1`) {
				errs <- fmt.Sprintf("%d %s", resp.StatusCode, b)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("a concurrent request got %s; want 200 with run 1", e)
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var runs int64
	if err := conn.QueryRow(context.Background(), "SELECT last_value FROM probe").Scan(&runs); err != nil {
		t.Fatal(err)
	}
	if runs != 1 {
		t.Fatalf("%d concurrent misses ran the query %d times; want 1", n, runs)
	}
}

func TestNotifyInvalidatesOnEveryInstance(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, routeSchema)
	a := startRouteServer(t, dbURL)
	b := startRouteServer(t, dbURL)
	for _, ts := range []*testServer{a, b} {
		get(t, ts.url+"/probe/3").expect(t, 200, `"name":"name 3"`)
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "UPDATE customer SET name = 'renamed' WHERE customer_id = 3; NOTIFY pgfast_invalidate, 'customer'"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for _, ts := range []*testServer{a, b} {
		for {
			r := get(t, ts.url+"/probe/3")
			if strings.Contains(r.body, `"name":"renamed"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still serves %s 1s after NOTIFY", ts.url, r.body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestRouteThatDoesNotPrepareIsAConfigError(t *testing.T) {
	cfg := parseConfig(t, `
routes:
  - name: broken
    path: /broken/{id}
    sql: SELECT * FROM no_such_table WHERE id = $1
    params: [path.id]
`)
	cfg.Databases["main"].URL = "postgres://postgres@127.0.0.1:1/x"
	dbURL := pgtest.NewDatabase(t)
	cfg.Databases["main"].URL = configSecret(dbURL)
	_, err := New(context.Background(), cfg, Options{Logger: discardLogger(), AuditWriter: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "routes broken") || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("got %v; want a config error naming route broken and the missing table", err)
	}
}

func TestLargeRouteResultStreamsAndIsNotCached(t *testing.T) {
	ts := startRouteServer(t, pgtest.NewDatabase(t, routeSchema))
	r := get(t, ts.url+"/big?n=2000")
	r.expect(t, 200, `{"n":2000,`)
	if len(r.body) < 400000 || !strings.HasSuffix(r.body, "}]") {
		t.Fatalf("got %d bytes; want the whole 2000-row array", len(r.body))
	}
	if r.header.Get("ETag") != "" {
		t.Fatal("a result over stream_threshold_bytes was served from the cache")
	}
	if r.header.Get("Content-Length") != "" {
		t.Fatalf("got Content-Length %s; want a chunked (streamed) body", r.header.Get("Content-Length"))
	}
	// The key is remembered as one that streams: the next request streams
	// straight away, whole.
	hits := ts.e.cache.Stats().Hits
	r = get(t, ts.url+"/big?n=2000")
	r.expect(t, 200, `{"n":2000,`)
	if r.header.Get("Content-Length") != "" || ts.e.cache.Stats().Hits != hits+1 {
		t.Fatalf("second large request: Content-Length %q, cache hits +%d; want streamed via the marker", r.header.Get("Content-Length"), ts.e.cache.Stats().Hits-hits)
	}
	get(t, ts.url+"/big?n=3").expect(t, 200, `[{"n":1,`)
}

func TestSmallRouteResultHasContentLength(t *testing.T) {
	ts := startRouteServer(t, pgtest.NewDatabase(t, routeSchema))
	if r := get(t, ts.url+"/items"); r.header.Get("Content-Length") == "" {
		t.Fatal("a small result has no Content-Length; the streaming check above would prove nothing")
	}
}
