package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// countingUpstream answers every request with the number of body bytes it
// read, so a test sees what was forwarded.
func countingUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "read %d %v", n, err)
	}))
	t.Cleanup(up.Close)
	return up
}

// jsonBody is a JSON object {"s":"xx…"} of exactly n bytes (n >= 8).
func jsonBody(n int) string { return `{"s":"` + strings.Repeat("x", n-8) + `"}` }

// postRaw sends a POST of body over a connection of its own, with a
// Content-Length or chunked (in 1 KiB chunks), and returns the answer's
// status and body. It writes from a goroutine and ignores write errors: a
// server that refuses a body may close before reading all of it, and the
// answer is what counts.
func postRaw(t *testing.T, baseURL, path, body string, chunked bool) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		w := bufio.NewWriter(conn)
		fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n", path)
		if !chunked {
			fmt.Fprintf(w, "Content-Length: %d\r\n\r\n%s", len(body), body)
			w.Flush()
			return
		}
		io.WriteString(w, "Transfer-Encoding: chunked\r\n\r\n")
		for rest := body; len(rest) > 0; {
			c := rest[:min(len(rest), 1<<10)]
			rest = rest[len(c):]
			fmt.Fprintf(w, "%x\r\n%s\r\n", len(c), c)
		}
		io.WriteString(w, "0\r\n\r\n")
		w.Flush()
	}()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s (%d bytes, chunked %v): %v", path, len(body), chunked, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// bodyLimitConfig: server.max_body_bytes 64 KiB; a SQL route and an
// upstream route that take 1 KiB, a SQL route at the server's limit, and
// with big an upstream route that takes 1 MiB, which makes the server
// stream bodies.
func bodyLimitConfig(t *testing.T, upURL string, big bool) *config.Config {
	t.Helper()
	yaml := fmt.Sprintf(`
server: {max_body_bytes: 64KiB}
upstreams:
  u: {targets: [{url: %q}], retries: 0}
routes:
  - {name: small, method: POST, path: /small, sql: "SELECT length($1::text) AS n", params: [body.s], max_body_bytes: 1KiB}
  - {name: fits, method: POST, path: /fits, sql: "SELECT length($1::text) AS n", params: [body.s]}
  - {name: upsmall, path: /up/*, upstream: u, max_body_bytes: 1KiB}
`, upURL)
	if big {
		yaml += "  - {name: upbig, path: /big/*, upstream: u, max_body_bytes: 1MiB}\n"
	}
	return parseConfig(t, yaml)
}

// TestBodyLimitsWholeAndStreamed: every route's max_body_bytes holds
// whether the server reads bodies whole (no route takes more than
// server.max_body_bytes) or streams them (one does), for a declared
// length and for a chunked body alike.
func TestBodyLimitsWholeAndStreamed(t *testing.T) {
	up := countingUpstream(t)
	dbURL := pgtest.NewDatabase(t, "")
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			ts := startServer(t, bodyLimitConfig(t, up.URL, stream), dbURL)
			if got := ts.e.srv.StreamRequestBody; got != stream {
				t.Fatalf("got StreamRequestBody %v; want %v", got, stream)
			}
			f := func(path string, size, want int, wantBody string) {
				t.Helper()
				for _, chunked := range []bool{false, true} {
					status, body := postRaw(t, ts.url, path, jsonBody(size), chunked)
					if status != want || !strings.Contains(body, wantBody) {
						t.Fatalf("POST %s, %d bytes, chunked %v: got %d %s; want %d with %s", path, size, chunked, status, clip(body), want, wantBody)
					}
				}
			}
			f("/small", 1<<10, 200, `"n":1016`)
			f("/small", 1<<10+1, 413, `"code":"too_large"`)
			f("/small", 2<<10, 413, "max_body_bytes (1024 bytes)")
			f("/up/x", 1<<10, 200, "read 1024 <nil>")
			f("/up/x", 2<<10, 413, `"code":"too_large"`)
			f("/fits", 64<<10, 200, `"n":65528`)
			f("/fits", 64<<10+1, 413, `"code":"too_large"`)
			f("/fits", 100<<10, 413, "max_body_bytes (65536 bytes)")
			if stream {
				f("/big/x", 512<<10, 200, "read 524288 <nil>")
				f("/big/x", 1<<20+1, 413, `"code":"too_large"`)
			} else {
				f("/big/x", 1<<10, 404, `"code":"not_found"`)
			}
		})
	}
}

// TestReloadCannotStartStreaming: a reload that adds a route taking more
// than server.max_body_bytes to a server started without streaming applies,
// warns that a restart is needed and names the route, whose bodies past
// server.max_body_bytes get 413 until then.
func TestReloadCannotStartStreaming(t *testing.T) {
	up := countingUpstream(t)
	logs := &syncBuffer{}
	cfg := bodyLimitConfig(t, up.URL, false)
	cfg.Databases[config.MainDatabase] = config.NewDatabase(pgtest.NewDatabase(t, ""))
	e, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), AuditWriter: io.Discard})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	ts := serveEngine(t, e)
	if e.srv.StreamRequestBody {
		t.Fatalf("started streaming request bodies; no route takes more than server.max_body_bytes")
	}

	next := bodyLimitConfig(t, up.URL, true)
	next.Databases[config.MainDatabase] = cfg.Databases[config.MainDatabase]
	if err := e.ReloadConfig(context.Background(), next); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if e.srv.StreamRequestBody {
		t.Fatalf("a reload changed the running server's StreamRequestBody")
	}
	var warn string
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "restart") {
			warn = line
		}
	}
	if !strings.Contains(warn, `"routes":["upbig"]`) || !strings.Contains(warn, "65536 bytes") {
		t.Fatalf("got warning %q; want one naming upbig and the 65536-byte limit; log:\n%s", warn, logs.String())
	}
	// The new route serves, up to the limit the server started with.
	for _, chunked := range []bool{false, true} {
		status, body := postRaw(t, ts.url, "/big/x", jsonBody(64<<10), chunked)
		if status != 200 || body != "read 65536 <nil>" {
			t.Fatalf("64 KiB to upbig after reload, chunked %v: got %d %s; want 200", chunked, status, clip(body))
		}
		status, body = postRaw(t, ts.url, "/big/x", jsonBody(64<<10+1), chunked)
		if status != 413 || !strings.Contains(body, "server.max_body_bytes (65536 bytes)") || !strings.Contains(body, "restart") {
			t.Fatalf("64 KiB + 1 to upbig after reload, chunked %v: got %d %s; want 413 naming the limit and a restart", chunked, status, clip(body))
		}
	}
	// The route limits the server does enforce still hold.
	if status, body := postRaw(t, ts.url, "/small", jsonBody(2<<10), true); status != 413 {
		t.Fatalf("chunked 2 KiB to small after reload: got %d %s; want 413", status, clip(body))
	}
}

// TestReloadKeepsStreaming: a server started streaming keeps streaming
// after a reload that no longer needs it, without a warning, and every
// limit of the new table holds.
func TestReloadKeepsStreaming(t *testing.T) {
	up := countingUpstream(t)
	logs := &syncBuffer{}
	cfg := bodyLimitConfig(t, up.URL, true)
	cfg.Databases[config.MainDatabase] = config.NewDatabase(pgtest.NewDatabase(t, ""))
	e, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), AuditWriter: io.Discard})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	ts := serveEngine(t, e)
	if !e.srv.StreamRequestBody {
		t.Fatalf("started without streaming request bodies; upbig takes more than server.max_body_bytes")
	}
	next := bodyLimitConfig(t, up.URL, false)
	next.Databases[config.MainDatabase] = cfg.Databases[config.MainDatabase]
	if err := e.ReloadConfig(context.Background(), next); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !e.srv.StreamRequestBody || strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Fatalf("StreamRequestBody %v after reload; want true and no warning; log:\n%s", e.srv.StreamRequestBody, logs.String())
	}
	f := func(path string, size, want int) {
		t.Helper()
		for _, chunked := range []bool{false, true} {
			if status, body := postRaw(t, ts.url, path, jsonBody(size), chunked); status != want {
				t.Fatalf("POST %s, %d bytes, chunked %v: got %d %s; want %d", path, size, chunked, status, clip(body), want)
			}
		}
	}
	f("/small", 1<<10, 200)
	f("/small", 2<<10, 413)
	f("/up/x", 2<<10, 413)
	f("/fits", 64<<10, 200)
	f("/fits", 100<<10, 413)
	f("/big/x", 1<<10, 404)
}
