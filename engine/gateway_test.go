package engine

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// echoUpstream is a real HTTP server standing in for a service behind the
// gateway: it answers with what it received, counts its requests and can
// be told how to answer by the path.
type echoUpstream struct {
	*httptest.Server
	hits atomic.Int64
}

func startEcho(t *testing.T, name string) *echoUpstream {
	t.Helper()
	u := &echoUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/slow"):
			time.Sleep(2 * time.Second) // the test's route times out at 200ms
		case strings.HasSuffix(r.URL.Path, "/teapot"):
			w.WriteHeader(418)
			io.WriteString(w, "short and stout")
			return
		case strings.HasSuffix(r.URL.Path, "/private"):
			w.Header().Set("Cache-Control", "private")
		case strings.HasSuffix(r.URL.Path, "/cookie"):
			http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
		case strings.HasSuffix(r.URL.Path, "/big"): // over stream_threshold_bytes
			w.Header().Set("Cache-Control", "public, max-age=60")
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, strings.Repeat("b", 2<<20))
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Server", "echo")
		w.Header().Set("X-Upstream", name)
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "must not pass")
		w.Header().Add("Link", "</a>; rel=preload") // a header given twice
		w.Header().Add("Link", "</b>; rel=preload")
		json.NewEncoder(w).Encode(map[string]any{
			"upstream": name, "method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"host": r.Host, "headers": r.Header, "body": string(body), "n": u.hits.Load(),
		})
	}))
	t.Cleanup(u.Close)
	return u
}

type echoed struct {
	Upstream, Method, Path, Query, Host, Body string
	Headers                                   http.Header
	N                                         int64
}

func decodeEcho(t *testing.T, r response) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("upstream answer %d %s: %v", r.status, clip(r.body), err)
	}
	return e
}

func TestUpstreamRoutes(t *testing.T) {
	users := startEcho(t, "users")
	other := startEcho(t, "other")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
upstreams:
  users: {targets: [{url: %q}], timeout: 200ms, retries: 0}
  other: {targets: [{url: %q}]}
  down: {targets: [{url: %q}], retries: 0}
routes:
  - name: users-api
    path: /api/users/*
    upstream: users
    rewrite: {match: "^/api/users/(.*)$", replace: "/v2/users/$1"}
    request_headers: {set: {X-User: "{header.X-Name}-{query.tenant}"}, add: {X-Tag: pgfast}, remove: [Cookie]}
    response_headers: {set: {X-Frame-Options: DENY}, remove: [Server]}
  - name: users-cached
    path: /cached/*
    upstream: users
    cache: 30s
  - name: other-host
    host: api.example.com
    path: /api/users/*
    upstream: other
  - name: down
    path: /down/*
    upstream: down
`, users.URL, other.URL, deadURL)), pgtest.NewDatabase(t, ""))

	r := do(t, "POST", ts.url+"/api/users/42/posts?tenant=acme", `{"x":1}`,
		"X-Name", "ann", "Cookie", "secret=1", "Connection", "keep-alive, X-Drop", "X-Drop", "hop", "X-Forwarded-For", "6.6.6.6")
	r.expect(t, 200)
	e := decodeEcho(t, r)
	switch {
	case e.Method != "POST" || e.Path != "/v2/users/42/posts" || e.Query != "tenant=acme" || e.Body != `{"x":1}`:
		t.Fatalf("forwarded request: %+v; want POST /v2/users/42/posts?tenant=acme with the body", e)
	case e.Headers.Get("X-User") != "ann-acme" || e.Headers.Get("X-Tag") != "pgfast" || e.Headers.Get("Cookie") != "":
		t.Fatalf("request_headers: %v; want X-User ann-acme, X-Tag pgfast, no Cookie", e.Headers)
	case e.Headers.Get("X-Drop") != "":
		t.Fatalf("a header named by Connection reached the upstream: %v", e.Headers)
	case e.Headers.Get("X-Forwarded-For") != "127.0.0.1" || e.Headers.Get("X-Forwarded-Proto") != "http" ||
		e.Headers.Get("X-Forwarded-Host") == "" || len(e.Headers.Get("X-Request-Id")) != 16:
		t.Fatalf("forwarding headers: %v; want X-Forwarded-For of the peer only (the client's claim is not trusted), proto, host, a request id", e.Headers)
	}
	if r.header.Get("X-Frame-Options") != "DENY" || len(r.header.Values("Server")) != 0 || r.header.Get("X-Hop") != "" || r.header.Get("X-Upstream") != "users" {
		t.Fatalf("response headers: %v; want X-Frame-Options, no Server at all (removed: neither the upstream's nor pgfast's), no hop-by-hop X-Hop, X-Upstream kept", r.header)
	}
	if s := get(t, ts.url+"/api/users/1", "Host", "api.example.com").header.Values("Server"); len(s) != 1 || s[0] != "echo" {
		t.Fatalf("a route that keeps Server: got %q; want the upstream's", s)
	}
	if s := get(t, ts.url+"/no/such/route").header.Values("Server"); len(s) != 1 || s[0] != "pgfast" {
		t.Fatalf("pgfast's own answer: Server %q; want pgfast", s)
	}
	// The upstream's own errors pass through untouched.
	r = get(t, ts.url+"/api/users/teapot")
	if r.status != 418 || r.body != "short and stout" {
		t.Fatalf("upstream 418: got %d %q", r.status, r.body)
	}
	// Host routing: the exact host wins over the any-host route.
	if e := decodeEcho(t, get(t, ts.url+"/api/users/1", "Host", "api.example.com")); e.Upstream != "other" || e.Path != "/api/users/1" {
		t.Fatalf("host route: %+v; want the other upstream, path unchanged", e)
	}
	// Errors of DESIGN §9.
	get(t, ts.url+"/down/x").expect(t, 502, `"code":"bad_gateway"`)
	get(t, ts.url+"/api/users/slow").expect(t, 504, `"code":"upstream_timeout"`)

	// Caching: a GET 200 is stored; private or cookie-setting answers are not.
	before := users.hits.Load()
	a, b := get(t, ts.url+"/cached/a?q=1"), get(t, ts.url+"/cached/a?q=1")
	if decodeEcho(t, a).N != decodeEcho(t, b).N || users.hits.Load() != before+1 {
		t.Fatalf("cached upstream GET: upstream hit %d times; want once", users.hits.Load()-before)
	}
	// Too large to store: the key is marked as streaming and answered by
	// the upstream each time, with the route's one Cache-Control.
	for i := range 2 {
		r := get(t, ts.url+"/cached/big")
		if r.status != 200 || len(r.body) != 2<<20 {
			t.Fatalf("large cached-route answer %d: %d, %d bytes; want 200 with the whole body", i+1, r.status, len(r.body))
		}
		if cc := r.header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "max-age=30" {
			t.Errorf("large cached-route answer %d: Cache-Control %q; want the route's one, max-age=30", i+1, cc)
		}
	}
	for i, r := range []response{a, b} { // the miss, then the hit
		if got := r.header.Values("Link"); len(got) != 2 || got[0] != "</a>; rel=preload" || got[1] != "</b>; rel=preload" {
			t.Errorf("cached upstream GET %d: Link headers %q; want both of the upstream's, in order", i+1, got)
		}
	}
	if c := get(t, ts.url+"/cached/a?q=2"); decodeEcho(t, c).N == decodeEcho(t, a).N {
		t.Fatalf("another query string must be another cache key")
	}
	for _, p := range []string{"/cached/private", "/cached/cookie"} {
		x, y := get(t, ts.url+p), get(t, ts.url+p)
		if decodeEcho(t, x).N == decodeEcho(t, y).N {
			t.Fatalf("%s was cached; an upstream's private or Set-Cookie answer must not be", p)
		}
	}
	if x, y := do(t, "POST", ts.url+"/cached/a", "1"), do(t, "POST", ts.url+"/cached/a", "1"); decodeEcho(t, x).N == decodeEcho(t, y).N {
		t.Fatalf("a POST was answered from the cache")
	}

	// A HEAD that misses must not store an empty body for the GETs after
	// it, and a fill asks for identity whatever the client accepts.
	if r := do(t, "HEAD", ts.url+"/cached/head-first", ""); r.status != 200 || r.body != "" {
		t.Fatalf("HEAD: got %d %q", r.status, r.body)
	}
	if e := decodeEcho(t, get(t, ts.url+"/cached/head-first", "Accept-Encoding", "identity")); e.Method != "GET" || e.Headers.Get("Accept-Encoding") != "" {
		t.Fatalf("the GET after a HEAD: %+v; want the whole answer of a GET fill without Accept-Encoding", e)
	}
	// Two X-Forwarded-For lines from an untrusted client: neither reaches
	// the upstream.
	req, _ := http.NewRequest("GET", ts.url+"/api/users/1", nil)
	req.Header.Add("X-Forwarded-For", "6.6.6.6")
	req.Header.Add("X-Forwarded-For", "7.7.7.7")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if e := decodeEcho(t, response{status: resp.StatusCode, body: string(raw)}); len(e.Headers.Values("X-Forwarded-For")) != 1 || e.Headers.Get("X-Forwarded-For") != "127.0.0.1" {
		t.Fatalf("X-Forwarded-For upstream: %v; want only the peer", e.Headers.Values("X-Forwarded-For"))
	}

	m := get(t, ts.admin+"/metrics").body
	for _, want := range []string{`pgfast_upstream_requests_total{code="2xx",target="` + users.URL + `",upstream="users"}`,
		`pgfast_upstream_target_up{target="` + users.URL + `",upstream="users"} 1`, `pgfast_upstream_breaker_state{`,
		`pgfast_upstream_duration_seconds_count{upstream="users"}`, `pgfast_upstream_retries_total{upstream="users"} 0`} {
		if !strings.Contains(m, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
	get(t, ts.admin+"/admin/stats").expect(t, 200, `"upstreams":{`, `"users":{`)
}

// TestUpstreamBreakerThroughPgfast: an upstream that fails opens its
// breaker; pgfast then answers 503 with Retry-After without calling it, and
// a reload that leaves the upstream unchanged keeps the breaker open.
func TestUpstreamBreakerThroughPgfast(t *testing.T) {
	var hits atomic.Int64
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(503)
		io.WriteString(w, "down for maintenance")
	}))
	defer failing.Close()
	yaml := func(extra string) string {
		return fmt.Sprintf(`
upstreams:
  flaky:
    targets: [{url: %q}]
    retries: 0
    circuit_breaker: {failures: 2, open_for: 1m}
routes:
  - name: flaky
    path: /flaky/*
    upstream: flaky
%s`, failing.URL, extra)
	}
	dbURL := pgtest.NewDatabase(t, "")
	ts := startServer(t, parseConfig(t, yaml("")), dbURL)
	for range 2 {
		// The upstream's own 503 passes through, and counts as a failure.
		get(t, ts.url+"/flaky/x").expect(t, 503, "down for maintenance")
	}
	r := get(t, ts.url+"/flaky/x")
	r.expect(t, 503, `"code":"unavailable"`, "circuit breaker")
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 50 || ra > 60 {
		t.Fatalf("Retry-After %q; want about the minute the breaker stays open", r.header.Get("Retry-After"))
	}
	if hits.Load() != 2 {
		t.Fatalf("the upstream was called %d times; want 2 (the open breaker answers alone)", hits.Load())
	}
	next := parseConfig(t, yaml(`  - name: extra
    path: /extra/*
    mock: {body: hi}
`))
	next.Databases["main"].URL = configSecret(dbURL)
	if err := ts.e.ReloadConfig(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	get(t, ts.url+"/extra/1").expect(t, 200, "hi")
	get(t, ts.url+"/flaky/x").expect(t, 503, "circuit breaker")
	if hits.Load() != 2 {
		t.Fatalf("after a reload that kept the upstream, it was called again (%d); its breaker must survive", hits.Load())
	}
}

// TestUpstreamHTTPSTarget forwards to an https target trusted through the
// upstream's tls.ca_file, and refuses one whose certificate it cannot
// verify.
func TestUpstreamHTTPSTarget(t *testing.T) {
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "over tls")
	}))
	defer secure.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
upstreams:
  trusted: {targets: [{url: %q}], tls: {ca_file: %q}}
  untrusted: {targets: [{url: %q}], retries: 0}
routes:
  - {name: trusted, path: /t/*, upstream: trusted}
  - {name: untrusted, path: /u/*, upstream: untrusted}
`, secure.URL, ca, secure.URL)), pgtest.NewDatabase(t, ""))
	get(t, ts.url+"/t/x").expect(t, 200, "over tls")
	get(t, ts.url+"/u/x").expect(t, 502, `"code":"bad_gateway"`)
}
