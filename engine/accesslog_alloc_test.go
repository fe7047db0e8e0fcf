//go:build !race

package engine

import (
	"io"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestAccessLogAllocatesNothing: a cached hit stays at 0 allocations with
// the access log on, in JSON and in a template with every field: the line
// is built in a pooled buffer and queued without a copy.
func TestAccessLogAllocatesNothing(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, routeSchema)
	f := func(access string) {
		t.Helper()
		ts := startAccessServer(t, parseConfig(t, routeConfig+"log: {access: "+access+"}\n"), dbURL, io.Discard)
		var ctx fasthttp.RequestCtx
		var req fasthttp.Request
		req.Header.SetMethod("GET")
		req.SetRequestURI("/probe/5")
		req.Header.Set("User-Agent", "probe")
		ctx.Init(&req, nil, nil)
		serve := func() {
			ctx.Response.Reset()
			ts.e.handle(&ctx)
			if ctx.Response.StatusCode() != 200 {
				t.Fatalf("got %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
		serve()
		ts.e.cache.Wait()
		// AllocsPerRun runs on one P, where the writer goroutine gets to
		// run only when the loop is preempted: most of its lines are in
		// the queue at once. A first run grows the line pool to that many
		// buffers; once the writer has given them back, the measured run
		// reuses them (in production, with the writer on another P, a few
		// buffers go round).
		testing.AllocsPerRun(2000, serve)
		waitWritten(t, ts.e, 2000)
		if allocs := testing.AllocsPerRun(2000, serve); allocs != 0 {
			t.Errorf("log.access %s: got %.2f allocs per cached request; want 0", access, allocs)
		}
	}
	f("true")
	f(`{format: "{client_ip} {method} {path} {status} {bytes} {duration_ms} {route} {account} {cache} {upstream} {request_id} \"{header.User-Agent}\""}`)
}

// waitWritten waits until the access log has written n lines.
func waitWritten(t *testing.T, e *Engine, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.Stats().Log.AccessLines < n {
		if time.Now().After(deadline) {
			t.Fatalf("access log wrote %d lines; want %d", e.Stats().Log.AccessLines, n)
		}
		time.Sleep(time.Millisecond)
	}
}
