package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// startAccessServer is startServer with the access log (log.access without
// a file) going to w.
func startAccessServer(t *testing.T, cfg *config.Config, dbURL string, w io.Writer) *testServer {
	t.Helper()
	if cfg.Databases[config.MainDatabase] == nil {
		cfg.Databases[config.MainDatabase] = config.NewDatabase(dbURL)
	}
	cfg.Databases[config.MainDatabase].URL = config.Secret(dbURL)
	e, err := New(context.Background(), cfg, Options{Logger: discardLogger(), AuditWriter: io.Discard, AccessWriter: w})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return serveEngine(t, e)
}

// lineBuffer is an io.Writer that collects lines, safe for the writer
// goroutine and the test.
type lineBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// waitLines waits until read returns at least n lines, and returns them.
func waitLines(t *testing.T, n int, read func() string) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := read()
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		if s != "" && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("got access log %q; want %d lines", s, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (b *lineBuffer) lines(t *testing.T, n int) []string {
	t.Helper()
	return waitLines(t, n, func() string {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.buf.String()
	})
}

// blockedWriter stands for a disk that stalls: each Write blocks for 5 s,
// or until release is closed.
type blockedWriter struct {
	release chan struct{}
	writes  atomic.Int64
}

func (w *blockedWriter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	select {
	case <-w.release:
	case <-time.After(5 * time.Second):
	}
	return len(p), nil
}

// TestAccessLogBlockedWriterKeepsLatency: with the access log's writer
// stuck for 5 s, requests keep the latency of a server whose log writes
// freely (measured side by side, requests interleaved, as a ratio of
// p99s), and the lines that did not fit the queue are counted in
// /admin/stats and pgfast_log_dropped_total.
func TestAccessLogBlockedWriterKeepsLatency(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "")
	const cfg = `
log: {access: true}
routes:
  - {name: hello, path: /hello, mock: {body: pong}}
`
	blocked := &blockedWriter{release: make(chan struct{})}
	slow := startAccessServer(t, parseConfig(t, cfg), dbURL, blocked)
	t.Cleanup(func() { close(blocked.release) }) // runs before the servers' shutdown
	free := startAccessServer(t, parseConfig(t, cfg), dbURL, io.Discard)

	// More requests than the queue (4096 lines) and the writer's buffer
	// (64 KiB) hold, so lines are dropped.
	const n = accessQueueLines + 2000
	var freeDur, slowDur []time.Duration
	timeOne := func(url string) time.Duration {
		start := time.Now()
		get(t, url+"/hello").expect(t, 200, "pong")
		return time.Since(start)
	}
	for range n {
		freeDur = append(freeDur, timeOne(free.url))
		slowDur = append(slowDur, timeOne(slow.url))
	}
	p99 := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)*99/100]
	}
	pf, ps := p99(freeDur), p99(slowDur)
	// The floor keeps loopback jitter (scheduler, GC) at a few hundred
	// microseconds from failing the ratio; a request that waited for the
	// writer would take 5 s.
	base := max(pf, 2*time.Millisecond)
	t.Logf("p99 with the log writing freely: %s; with its writer blocked: %s", pf, ps)
	if ps > 3*base {
		t.Fatalf("p99 with the access-log writer blocked is %s; want at most 3× the %s of a free writer", ps, base)
	}
	if blocked.writes.Load() == 0 {
		t.Fatal("the blocked writer was never written to")
	}
	st := slow.e.Stats().Log
	if st.AccessDropped == 0 || st.AccessDropped > n {
		t.Fatalf("got %d dropped lines of %d requests; want some (the queue holds %d)", st.AccessDropped, n, accessQueueLines)
	}
	if got := free.e.Stats().Log; got.AccessDropped != 0 {
		t.Fatalf("free writer: got %+v; want nothing dropped", got)
	}
	m := get(t, slow.admin+"/metrics")
	m.expect(t, 200, `pgfast_log_dropped_total{log="access"} `+strconv.FormatUint(st.AccessDropped, 10))
	get(t, slow.admin+"/admin/stats").expect(t, 200, `"access_dropped":`+strconv.FormatUint(st.AccessDropped, 10))
}

// TestAccessWriterDropsAndCloses: the writer never blocks its caller, counts
// what did not fit, and Close returns within its bound even when the
// io.Writer is stuck.
func TestAccessWriterDropsAndCloses(t *testing.T) {
	blocked := &blockedWriter{release: make(chan struct{})}
	defer close(blocked.release)
	w := newAsyncWriter(blocked, "", 8, discardLogger())
	line := bytes.Repeat([]byte("x"), accessBufSize) // each line fills the bufio buffer: the writer blocks at once
	start := time.Now()
	for range 100 {
		l := getLine()
		l.b = append(l.b, line...)
		w.write(l)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("100 writes took %s; a write must never wait for the io.Writer", d)
	}
	if got := w.dropped.Load(); got < 100-8-2 {
		t.Fatalf("got %d dropped of 100 with a queue of 8; want at least %d", got, 100-8-2)
	}
	start = time.Now()
	w.close(100 * time.Millisecond)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("close took %s with its bound at 100ms", d)
	}
	before := w.dropped.Load()
	w.write(getLine())
	if w.dropped.Load() != before+1 {
		t.Fatal("a line written after close is not counted as dropped")
	}
}

// TestAccessLogTemplate checks a template line field by field: route,
// status, bytes, request id, a header, upstream and the cache outcome of a
// miss, then a hit.
func TestAccessLogTemplate(t *testing.T) {
	users := startEcho(t, "users")
	var buf lineBuffer
	ts := startAccessServer(t, parseConfig(t, fmt.Sprintf(`
log:
  access:
    format: "{method}|{path}|{status}|{bytes}|{route}|{cache}|{upstream}|{request_id}|{header.X-Test}|{client_ip}|{account}|{duration_ms}"
limits: {trusted_proxies: [127.0.0.1]}
upstreams:
  users: {targets: [{url: %q}]}
routes:
  - {name: users-cached, path: /cached/*, upstream: users, cache: 30s}
  - {name: users-live, path: /live/*, upstream: users}
`, users.URL)), pgtest.NewDatabase(t, ""), &buf)

	r1 := get(t, ts.url+"/cached/a?q=1", "X-Test", `say "hi"`, "X-Request-Id", "trace-1")
	r1.expect(t, 200)
	r2 := get(t, ts.url+"/cached/a?q=1", "X-Request-Id", "trace-2")
	r2.expect(t, 200)
	r3 := get(t, ts.url+"/live/b")
	r3.expect(t, 200)
	get(t, ts.url+"/nowhere").expect(t, 404)
	lines := buf.lines(t, 4)

	f := func(line string, want ...string) {
		t.Helper()
		got := strings.Split(line, "|")
		if len(got) != 12 {
			t.Fatalf("line %q: got %d fields; want 12", line, len(got))
		}
		names := []string{"method", "path", "status", "bytes", "route", "cache", "upstream", "request_id", "header.X-Test", "client_ip", "account"}
		for i, w := range want {
			if got[i] != w {
				t.Errorf("line %q: {%s} is %q; want %q", line, names[i], got[i], w)
			}
		}
		if _, err := strconv.ParseFloat(got[11], 64); err != nil || !strings.Contains(got[11], ".") {
			t.Errorf("line %q: {duration_ms} is %q; want milliseconds such as 0.123", line, got[11])
		}
	}
	f(lines[0], "GET", "/cached/a", "200", strconv.Itoa(len(r1.body)), "users-cached", "MISS", "users", "trace-1", `say \x22hi\x22`, "127.0.0.1", "-")
	f(lines[1], "GET", "/cached/a", "200", strconv.Itoa(len(r2.body)), "users-cached", "HIT", "-", "trace-2", "-", "127.0.0.1", "-")
	f(lines[2], "GET", "/live/b", "200", strconv.Itoa(len(r3.body)), "users-live", "-", "users", r3.header.Get("X-Request-Id"), "-", "127.0.0.1", "-")
	f(lines[3], "GET", "/nowhere", "404")
	if strings.Split(lines[3], "|")[4] != endpointUnknown {
		t.Errorf("unmatched line %q: want route %s", lines[3], endpointUnknown)
	}
}

// TestAccessLogJSON: log.access: true writes one JSON object per line with
// the template fields' keys.
func TestAccessLogJSON(t *testing.T) {
	var buf lineBuffer
	ts := startAccessServer(t, parseConfig(t, `
log: {access: true}
accounts:
  - {id: reader, api_token: sk_reader, allowed_operations: [SELECT]}
routes:
  - {name: hello, path: /hello, mock: {body: pong}}
`), pgtest.NewDatabase(t, ""), &buf)
	r := get(t, ts.url+"/hello?x=1")
	r.expect(t, 200)
	do(t, "POST", ts.url+"/v1/query", `{"query":"SELECT 1 AS one"}`, "Authorization", "Bearer sk_reader").expect(t, 200)
	lines := buf.lines(t, 2)
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("line %q: %v", lines[0], err)
	}
	for k, want := range map[string]any{"msg": "access", "method": "GET", "path": "/hello", "route": "hello", "status": 200.0,
		"bytes": 4.0, "client_ip": "127.0.0.1", "request_id": r.header.Get("X-Request-Id")} {
		if m[k] != want {
			t.Errorf("line %s: %s is %v; want %v", lines[0], k, m[k], want)
		}
	}
	if _, ok := m["duration_ms"].(float64); !ok {
		t.Errorf("line %s: no duration_ms", lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m["account"] != "reader" {
		t.Errorf("line %s: want account reader (err %v)", lines[1], err)
	}
}

// TestAccessLogReopen: after the file is renamed (logrotate) and
// ReopenLogs (what SIGUSR1 calls), new lines land in a new file at the
// configured path and the renamed one keeps the old lines.
func TestAccessLogReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
log: {access: {format: "{path} {status}", file: %q}}
routes:
  - {name: ping, path: /ping/*, mock: {body: pong}}
`, path)), pgtest.NewDatabase(t, ""))
	readFile := func(p string) func() string {
		return func() string { b, _ := os.ReadFile(p); return string(b) }
	}
	get(t, ts.url+"/ping/1").expect(t, 200)
	waitLines(t, 1, readFile(path))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	get(t, ts.url+"/ping/2").expect(t, 200) // still the old file: not reopened yet
	waitLines(t, 2, readFile(path+".1"))
	if err := ts.e.ReopenLogs(); err != nil {
		t.Fatalf("ReopenLogs: %v", err)
	}
	get(t, ts.url+"/ping/3").expect(t, 200)
	if got := waitLines(t, 1, readFile(path)); !slices.Equal(got, []string{"/ping/3 200"}) {
		t.Fatalf("new file: got %q; want the line of the request after the reopen", got)
	}
	if got := readFile(path + ".1")(); got != "/ping/1 200\n/ping/2 200\n" {
		t.Fatalf("rotated file: got %q; want the two lines before the reopen", got)
	}
}

func TestAppendLogText(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(appendLogText(nil, []byte(in))); got != want {
			t.Errorf("appendLogText(%q): got %q; want %q", in, got, want)
		}
	}
	f("", "")
	f("/items/1", "/items/1")
	f("a b", "a b")
	f("a\nb", `a\x0Ab`)
	f(`q"\`, `q\x22\x5C`)
	f("é", `\xC3\xA9`)
}

func TestAppendJSONString(t *testing.T) {
	f := func(in string) {
		t.Helper()
		out := appendJSONString(nil, []byte(in))
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", in, out, err)
		}
		var want strings.Builder // each invalid byte becomes U+FFFD
		for _, r := range in {
			want.WriteRune(r)
		}
		if got != want.String() {
			t.Errorf("appendJSONString(%q) reads back as %q; want %q", in, got, want.String())
		}
	}
	f("")
	f("plain")
	f("quote \" and \\ backslash")
	f("line\nbreak\x00\x1f")
	f("é ünï 日本")
	f("bad \xff\xfe utf8")
}
