package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// zeros is a body of n bytes that holds no memory.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// rssWatch samples the process's resident set size until stopped; it
// returns the size at the start and, from stop, the peak.
func rssWatch(t *testing.T) (base int64, stop func() int64) {
	t.Helper()
	read := func() int64 {
		f, err := os.Open("/proc/self/status")
		if err != nil {
			t.Skip("no /proc/self/status on this system") // Linux only: CI is Linux
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				return kb << 10
			}
		}
		return 0
	}
	var peak atomic.Int64
	base = read()
	peak.Store(base)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	return base, func() int64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

// TestUpstreamStreamsLargeBodies sends a 200 MB upload and a 200 MB
// download through an upstream route: both stream, so the process (client,
// pgfast and upstream together) grows by far less than the bodies.
func TestUpstreamStreamsLargeBodies(t *testing.T) {
	const size = 200 << 20
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			n, err := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%d %v", n, err)
		case "/download":
			n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			io.Copy(w, &zeros{n: n})
		}
	}))
	defer up.Close()
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
upstreams:
  big: {targets: [{url: %q}], timeout: 60s}
routes:
  - name: big
    path: /big/*
    upstream: big
    rewrite: {match: "^/big/(.*)$", replace: "/$1"}
    max_body_bytes: 256MiB
  - name: small
    path: /small/*
    upstream: big
    rewrite: {match: "^/small/(.*)$", replace: "/$1"}
`, up.URL)), pgtest.NewDatabase(t, ""))

	runtime.GC()
	base, stop := rssWatch(t)
	req, err := http.NewRequest("POST", ts.url+"/big/upload", &zeros{n: size})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != fmt.Sprintf("%d <nil>", size) {
		t.Fatalf("200 MB upload: got %d %q; want the upstream to count every byte", resp.StatusCode, got)
	}
	resp, err = testClient.Get(ts.url + "/big/download?n=" + strconv.Itoa(size))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("200 MB download: got %d bytes, %v", n, err)
	}
	grew := stop() - base
	t.Logf("RSS grew %.1f MB over a 200 MB upload and a 200 MB download", float64(grew)/(1<<20))
	if grew > 32<<20 {
		t.Fatalf("RSS grew %.1f MB; want < 32 MB (bodies must stream, not buffer)", float64(grew)/(1<<20))
	}
}

// TestUpstreamBodyLimits: a body over the route's max_body_bytes is 413
// before anything is sent upstream, whether its length is declared or not.
func TestUpstreamBodyLimits(t *testing.T) {
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
	}))
	defer up.Close()
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
server: {max_body_bytes: 64KiB}
upstreams:
  u: {targets: [{url: %q}], retries: 0}
routes:
  - name: up
    path: /up/*
    upstream: u
    max_body_bytes: 1MiB
`, up.URL)), pgtest.NewDatabase(t, ""))
	do(t, "POST", ts.url+"/up/x", strings.Repeat("a", 512<<10)).expect(t, 200)
	// A declared length over the bound: answered once the server has its
	// first server.max_body_bytes (its read-ahead), long before the rest,
	// and the connection closes.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /up/x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 2<<20)
	conn.Write(make([]byte, 100<<10))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	head, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(head), "HTTP/1.1 413") || !strings.Contains(string(head), `"code":"too_large"`) {
		t.Fatalf("declared 2 MiB body on a 1 MiB route: got %q; want 413 too_large", head)
	}
	if hits.Load() != 1 {
		t.Fatalf("the upstream saw %d requests; want only the first", hits.Load())
	}
	// Chunked, no length declared: cut while streaming.
	req, _ := http.NewRequest("POST", ts.url+"/up/x", io.MultiReader(bytes.NewReader(make([]byte, 2<<20))))
	req.ContentLength = -1
	resp, err := testClient.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("a chunked 2 MiB body through a 1 MiB route: got 200 %s", b)
		}
	}
}
