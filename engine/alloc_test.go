//go:build !race

package engine

import (
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/valyala/fasthttp"
)

// TestCacheHitAllocatesNothing serves a cached declared route through the
// engine's outermost handler with a reused RequestCtx, as fasthttp does for
// a keep-alive connection: route lookup, parameter gathering, cache key,
// cache get, pre-encoded headers and body, metrics.
func TestCacheHitAllocatesNothing(t *testing.T) {
	ts := startRouteServer(t, pgtest.NewDatabase(t, routeSchema))
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI("/probe/5")
	req.Header.Set("Accept-Encoding", "gzip, br")
	ctx.Init(&req, nil, nil)
	serve := func() {
		ctx.Response.Reset()
		ts.e.handle(&ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("got %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	serve() // miss: runs the query and fills the cache
	ts.e.cache.Wait()
	serve()
	hits := ts.e.cache.Stats().Hits
	allocs := testing.AllocsPerRun(2000, serve)
	if allocs != 0 {
		t.Fatalf("got %.2f allocs per cached request; want 0", allocs)
	}
	if got := ts.e.cache.Stats().Hits - hits; got < 2000 {
		t.Fatalf("got %d cache hits over 2001 requests; want every one a hit", got)
	}
	// The same for a route with a query-string parameter and no path one.
	req.SetRequestURI("/wide?x=1")
	ctx.Init(&req, nil, nil)
	serve()
	ts.e.cache.Wait()
	if allocs := testing.AllocsPerRun(2000, serve); allocs != 0 {
		t.Fatalf("got %.2f allocs per cached request on /wide; want 0", allocs)
	}
}
