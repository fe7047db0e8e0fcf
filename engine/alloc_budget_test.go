//go:build !race

package engine

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestUncachedAllocs holds the allocation budgets of the uncached paths
// (README): an uncached `one` route ≤ 2 per request, a 100-row `many`
// route ≤ 4 (not per row), /v1/query of one row with one param ≤ 8. The
// last counts the whole process, so it covers the account connection's
// session reset too (pgxpool's AfterRelease, off the request path), which
// allocates nothing but pgxpool's goroutine for it. It measures 7: that
// goroutine's closure; pgconn's command tag; the query text, which the
// statement caches keep as a key; the param's interface and its text for
// the server (sqlexec.EncodeJSON); the Canceler's func; the statement's
// result formats. They run through the engine's outermost handler with a
// reused RequestCtx, as fasthttp serves a keep-alive connection, against
// a real PostgreSQL.
func TestUncachedAllocs(t *testing.T) {
	ts := startServer(t, parseConfig(t, `
accounts:
  - {id: reader, api_token: sk_reader, allowed_operations: [SELECT]}
routes:
  - name: one
    path: /one/{id}
    sql: SELECT id, name, qty FROM items WHERE id = $1
    params: [path.id]
    result: one
  - name: page
    path: /page
    sql: SELECT g AS id, 'name ' || g AS name, g * 2 AS score FROM generate_series(1, 100) g
    result: many
`), pgtest.NewDatabase(t, routeSchema))
	f := func(name, method, uri, body string, budget float64) {
		t.Helper()
		var ctx fasthttp.RequestCtx
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI(uri)
		req.Header.Set("Authorization", "Bearer sk_reader")
		if body != "" {
			req.SetBodyString(body)
		}
		ctx.Init(&req, nil, nil)
		serve := func() {
			ctx.Response.Reset()
			ts.e.handle(&ctx)
			if ctx.Response.StatusCode() != 200 {
				t.Fatalf("%s: got %d %s", name, ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
		for range 200 { // warm: statements prepared on the connections, pools filled
			serve()
		}
		// Many runs: a request that finds every account connection still
		// resetting makes the pool open one more (about 1300 allocations,
		// its statement prepared on first use), which must not pass for a
		// per-request cost.
		if got := testing.AllocsPerRun(2000, serve); got > budget {
			t.Errorf("%s: %.1f allocs per request; the budget is %.0f", name, got, budget)
		} else {
			t.Logf("%s: %.1f allocs per request (budget %.0f)", name, got, budget)
		}
	}
	f("uncached one route", "GET", "/one/1", "", 2)
	f("uncached 100-row many route", "GET", "/page", "", 4)
	f("/v1/query of one row", "POST", "/v1/query", `{"query":"SELECT id, name FROM items WHERE id = $1","params":[1]}`, 8)
}
