//go:build !race

package engine

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestUncachedAllocs holds the allocation budgets of the uncached paths
// (README): an uncached `one` route ≤ 2 per request, a 100-row `many`
// route ≤ 4 (not per row). /v1/query of one row is held at 36, a little
// above its measured 31–33 (it moves by one or two with the background
// reset's timing): the goal is 8, and the account connection's session reset
// (pgxpool's AfterRelease, off the request path but counted here) alone
// costs about 10, mostly pgconn's command tags. They run through the
// engine's outermost handler with a reused RequestCtx, as fasthttp serves
// a keep-alive connection, against a real PostgreSQL.
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
		for range 10 { // warm: statements prepared on the connections, pools filled
			serve()
		}
		if got := testing.AllocsPerRun(500, serve); got > budget {
			t.Errorf("%s: %.1f allocs per request; the budget is %.0f", name, got, budget)
		} else {
			t.Logf("%s: %.1f allocs per request (budget %.0f)", name, got, budget)
		}
	}
	f("uncached one route", "GET", "/one/1", "", 2)
	f("uncached 100-row many route", "GET", "/page", "", 4)
	f("/v1/query of one row", "POST", "/v1/query", `{"query":"SELECT id, name FROM items WHERE id = $1","params":[1]}`, 36)
}
