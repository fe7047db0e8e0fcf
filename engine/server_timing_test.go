package engine

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestAppendMillis(t *testing.T) {
	f := func(d time.Duration, want string) {
		t.Helper()
		if got := string(appendMillis(nil, d)); got != want {
			t.Errorf("appendMillis(%s): got %q; want %q", d, got, want)
		}
	}
	f(0, "0.000")
	f(999*time.Nanosecond, "0.000")
	f(2*time.Microsecond, "0.002")
	f(12345*time.Microsecond, "12.345")
	f(1500*time.Millisecond, "1500.000")
	f(-time.Second, "0.000")
}

func TestAppendServerTiming(t *testing.T) {
	f := func(tm timings, total time.Duration, want string) {
		t.Helper()
		if got := string(appendServerTiming(nil, &tm, total)); got != want {
			t.Errorf("got %q; want %q", got, want)
		}
	}
	f(timings{}, 50*time.Microsecond, "total;dur=0.050")
	var tm timings
	tm.add(stageCache, 2*time.Microsecond, time.Time{})
	tm.add(stageAuth, 10*time.Microsecond, time.Time{})
	tm.add(stageAuth, 2*time.Microsecond, time.Time{}) // adds up
	f(tm, 51*time.Microsecond, "auth;dur=0.012, cache;dur=0.002, total;dur=0.051")
	tm = timings{}
	tm.add(stageAcquire, time.Millisecond, time.Time{})
	tm.add(stageDB, 3*time.Millisecond, time.Time{})
	tm.add(stageEncode, 0, time.Time{}) // ran, however briefly
	f(tm, 5*time.Millisecond, "acquire;dur=1.000, db;dur=3.000, encode;dur=0.000, total;dur=5.000")
}

// serverTimingRe is the header's shape: known stages, then total.
var serverTimingRe = regexp.MustCompile(`^((auth|limit|cache|acquire|db|upstream|encode);dur=\d+\.\d{3}, )*total;dur=\d+\.\d{3}$`)

// stagesOf returns the stage names of a Server-Timing value, checking its shape.
func stagesOf(t *testing.T, r response) string {
	t.Helper()
	v := r.header.Get("Server-Timing")
	if !serverTimingRe.MatchString(v) {
		t.Fatalf("Server-Timing %q: want stage;dur=ms pairs ending in total", v)
	}
	var names []string
	for _, m := range strings.Split(v, ", ") {
		name, _, _ := strings.Cut(m, ";")
		names = append(names, name)
	}
	return strings.Join(names, ",")
}

// TestServerTiming: every response has Server-Timing with the stages that
// ran: a cached hit (cache), a miss (cache and the fill), an uncached SQL
// route (acquire, db, encode), an upstream route, auth and limit of the
// raw query API, and an unmatched path (total only).
func TestServerTiming(t *testing.T) {
	users := startEcho(t, "users")
	gateway := `
  - {name: gw, path: /gw/*, upstream: users}
  - {name: gw-cached, path: /gwc/*, upstream: users, cache: 30s}
cache:`
	ts := startServer(t, parseConfig(t, strings.Replace(routeConfig, "\ncache:", gateway, 1)+fmt.Sprintf(`
accounts:
  - {id: reader, api_token: sk_reader, allowed_operations: [SELECT], rate_limit: 1000/s}
upstreams:
  users: {targets: [{url: %q}]}
`, users.URL)), pgtest.NewDatabase(t, routeSchema))
	f := func(r response, status int, want string) {
		t.Helper()
		r.expect(t, status)
		if got := stagesOf(t, r); got != want {
			t.Errorf("Server-Timing %q: got stages %s; want %s", r.header.Get("Server-Timing"), got, want)
		}
	}
	f(get(t, ts.url+"/items/1"), 200, "cache,db,total") // miss: the lookup, then the fill
	ts.e.cache.Wait()
	f(get(t, ts.url+"/items/1"), 200, "cache,total") // hit
	f(get(t, ts.url+"/items?limit=2"), 200, "acquire,db,encode,total")
	f(get(t, ts.url+"/gw/x"), 200, "upstream,total")
	f(get(t, ts.url+"/gwc/x"), 200, "cache,upstream,total")
	ts.e.cache.Wait()
	f(get(t, ts.url+"/gwc/x"), 200, "cache,total")
	f(do(t, "POST", ts.url+"/gwc/x", ""), 200, "upstream,total") // not cacheable: bypass
	f(do(t, "POST", ts.url+"/v1/query", `{"query":"SELECT 1 AS one"}`, "Authorization", "Bearer sk_reader"), 200, "auth,limit,total")
	f(do(t, "POST", ts.url+"/v1/query", `{"query":"SELECT 1 AS one"}`, "Authorization", "Bearer wrong"), 401, "auth,total")
	f(get(t, ts.url+"/nowhere"), 404, "total")
}

// TestRequestIDEchoed: every response carries X-Request-Id: a trusted
// proxy's is kept, an untrusted client's replaced by one made here, and
// one is made when the request has none.
func TestRequestIDEchoed(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "")
	const routes = `
routes:
  - {name: hello, path: /hello, mock: {body: pong}}
`
	trusting := startServer(t, parseConfig(t, routes+"limits: {trusted_proxies: [127.0.0.1/32]}\n"), dbURL)
	untrusting := startServer(t, parseConfig(t, routes+"limits: {trusted_proxies: [10.0.0.0/8]}\n"), dbURL)
	made := regexp.MustCompile(`^[0-9a-f]{16}$`)
	f := func(ts *testServer, path, sent string, want func(string) bool, what string) string {
		t.Helper()
		var h []string
		if sent != "" {
			h = []string{"X-Request-Id", sent}
		}
		r := get(t, ts.url+path, h...)
		if got := r.header.Get("X-Request-Id"); !want(got) {
			t.Fatalf("%s%s with X-Request-Id %q: got %q; want %s", ts.url, path, sent, got, what)
		}
		return r.header.Get("X-Request-Id")
	}
	kept := func(s string) func(string) bool { return func(got string) bool { return got == s } }
	f(trusting, "/hello", "edge-42", kept("edge-42"), "the trusted proxy's id")
	f(trusting, "/nowhere", "edge-43", kept("edge-43"), "the trusted proxy's id, on an error too")
	f(untrusting, "/hello", "forged", made.MatchString, "a made id replacing the client's")
	a := f(untrusting, "/hello", "", made.MatchString, "a made id")
	b := f(trusting, "/hello", "", made.MatchString, "a made id")
	if a == b {
		t.Fatalf("two requests got the same id %s", a)
	}
	// A trusted proxy's id that is not printable ASCII is not echoed.
	f(trusting, "/hello", "bad id", made.MatchString, "a made id replacing one with a space")
}
