package engine

import (
	"net"
	"strings"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestBuiltinsAndErrorShape(t *testing.T) {
	ts := startServer(t, parseConfig(t, "server: {max_body_bytes: 1KiB}\n"), pgtest.NewDatabase(t))
	get(t, ts.url+"/ping").expect(t, 200, `{"pong":true}`)
	get(t, ts.url+"/health").expect(t, 200, `{"status":"ok"}`)
	get(t, ts.url+"/ready").expect(t, 200, `{"status":"ready"}`)

	r := get(t, ts.url+"/nope")
	r.expect(t, 404, `{"error":{"code":"not_found","message":"no route for /nope"}}`)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("got Content-Type %q; want application/json", ct)
	}
	r = do(t, "DELETE", ts.url+"/ping", "")
	r.expect(t, 405, `"code":"method_not_allowed"`)
	if allow := r.header.Get("Allow"); allow != "GET" {
		t.Fatalf("got Allow %q; want GET", allow)
	}
	// Transport-level errors get the JSON shape too.
	do(t, "POST", ts.url+"/ping", strings.Repeat("x", 2048)).expect(t, 413, `"code":"too_large"`)
	get(t, ts.url+"/ping", "X-Big", strings.Repeat("y", 16<<10)).expect(t, 413, `"code":"too_large"`)

	// Raw malformed HTTP.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("NOT HTTP AT ALL\r\n\r\n"))
	buf := make([]byte, 4096)
	n, _ := conn.Read(buf)
	if got := string(buf[:n]); !strings.Contains(got, "400") || !strings.Contains(got, `"code":"bad_request"`) {
		t.Fatalf("malformed request: got %q; want a 400 bad_request JSON error", got)
	}
}

func TestReadyIs503WhenDatabaseIsDown(t *testing.T) {
	// A port nobody listens on: the database is "down".
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ts := startServer(t, parseConfig(t, "databases: {main: {url: 'postgres://postgres@"+addr+"/x?sslmode=disable', connect_timeout: 1s}}\n"), "")
	r := get(t, ts.url+"/ready")
	r.expect(t, 503, `"code":"unavailable"`)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	get(t, ts.url+"/health").expect(t, 200)
}

func TestAdminListener(t *testing.T) {
	ts := startServer(t, parseConfig(t, ""), pgtest.NewDatabase(t))
	get(t, ts.url+"/ping").expect(t, 200)
	r := get(t, ts.admin+"/metrics")
	r.expect(t, 200, "# TYPE pgfast_http_request_duration_seconds histogram",
		`pgfast_http_request_duration_seconds_count{route="/ping",status="200"} 1`, "pgfast_pool_max_conns")
	get(t, ts.admin+"/debug/pprof/").expect(t, 200, "goroutine")
	get(t, ts.url+"/debug/pprof/").expect(t, 404)
	get(t, ts.url+"/metrics").expect(t, 404)
	get(t, ts.admin+"/admin/stats").expect(t, 200, `"pools"`, `"main"`, `"process":{"rss_bytes":`, `"max_rss_bytes":`)
}
