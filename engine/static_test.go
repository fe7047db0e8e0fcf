package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestStaticAndMockRoutes serves a directory and a mock through the same
// pipeline as SQL routes: conditional requests, ranges, pre-compressed
// siblings, index files, and no way out of the directory.
func TestStaticAndMockRoutes(t *testing.T) {
	base := t.TempDir()
	pub := filepath.Join(base, "public")
	write := func(name, body string, mod time.Time) {
		t.Helper()
		p := filepath.Join(pub, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	write("index.html", "<h1>home</h1>", old)
	write("a.txt", "0123456789", old)
	write("a.txt.gz", "pretend-gzip", old.Add(time.Minute))
	write("stale.txt", "fresh text", old.Add(time.Minute))
	write("stale.txt.gz", "older gzip", old)
	write("docs/index.html", "<h1>docs</h1>", old)
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(pub, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(pub, "up")); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, parseConfig(t, `
routes:
  - name: site
    path: /static/*
    static: {dir: `+pub+`, index: index.html, max_age: 1h}
  - name: gone
    path: /old/*
    mock: {status: 410, headers: {Content-Type: text/plain, X-Why: moved}, body: gone}
`), pgtest.NewDatabase(t, ""))

	// Go's client asks for gzip by itself and decodes it; identity here
	// unless a test is about the encoding.
	id := []string{"Accept-Encoding", "identity"}
	r := get(t, ts.url+"/static/a.txt", id...)
	r.expect(t, 200, "0123456789")
	etag, lastMod := r.header.Get("ETag"), r.header.Get("Last-Modified")
	if etag == "" || lastMod == "" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || r.header.Get("Cache-Control") != "max-age=3600" {
		t.Fatalf("headers: %v; want ETag, Last-Modified, text/plain and max-age=3600", r.header)
	}
	get(t, ts.url+"/static/a.txt", append(id, "If-None-Match", etag)...).expect(t, 304)
	get(t, ts.url+"/static/a.txt", append(id, "If-Modified-Since", lastMod)...).expect(t, 304)
	r = get(t, ts.url+"/static/a.txt", "Range", "bytes=2-5")
	r.expect(t, 206)
	if r.body != "2345" || r.header.Get("Content-Range") != "bytes 2-5/10" {
		t.Fatalf("range 2-5: got %q %q; want 2345, bytes 2-5/10", r.body, r.header.Get("Content-Range"))
	}
	if r := get(t, ts.url+"/static/a.txt", "Range", "bytes=-3"); r.status != 206 || r.body != "789" {
		t.Fatalf("suffix range: got %d %q; want 206 789", r.status, r.body)
	}
	get(t, ts.url+"/static/a.txt", "Range", "bytes=50-").expect(t, 416)
	r = get(t, ts.url+"/static/a.txt", "Accept-Encoding", "gzip")
	if r.body != "pretend-gzip" || r.header.Get("Content-Encoding") != "gzip" || r.header.Get("ETag") == etag {
		t.Fatalf("pre-compressed: got %q, encoding %q, ETag %s; want the .gz sibling with its own ETag", r.body, r.header.Get("Content-Encoding"), r.header.Get("ETag"))
	}
	if r := get(t, ts.url+"/static/stale.txt", "Accept-Encoding", "gzip"); r.body != "fresh text" {
		t.Fatalf("a sibling older than its file: got %q; want the file itself", r.body)
	}
	get(t, ts.url+"/static/", id...).expect(t, 200, "<h1>home</h1>")
	get(t, ts.url+"/static/docs", id...).expect(t, 200, "<h1>docs</h1>")
	get(t, ts.url+"/static/nope.txt", id...).expect(t, 404)
	// No way out: symbolic links that leave the directory, dot-dot in
	// every spelling a client can send.
	get(t, ts.url+"/static/link.txt", id...).expect(t, 404)
	get(t, ts.url+"/static/up/secret.txt", id...).expect(t, 404)
	for _, p := range []string{"/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt", "/static/docs/../../secret.txt"} {
		if r := get(t, ts.url+p, id...); r.status == 200 || r.body == "secret" {
			t.Fatalf("%s: got %d %q; want no file from outside the directory", p, r.status, r.body)
		}
	}
	do(t, "POST", ts.url+"/static/a.txt", "x").expect(t, 405)

	r = get(t, ts.url+"/old/anything/here")
	r.expect(t, 410, "gone")
	if r.header.Get("Content-Type") != "text/plain" || r.header.Get("X-Why") != "moved" {
		t.Fatalf("mock headers: %v", r.header)
	}
	do(t, "DELETE", ts.url+"/old/x", "").expect(t, 410)
}
