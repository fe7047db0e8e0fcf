package engine

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// BenchmarkCachedRouteTracing is a cached hit through the outermost
// handler with tracing off (the default: it must stay at 0 allocs, see
// TestCacheHitAllocatesNothing), on but not sampled (no traceparent,
// sample 0) and on and sampled (the caller's traceparent says so: a
// server span and a cache span, exported in batches to a collector that
// discards them).
func BenchmarkCachedRouteTracing(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(collector.Close)
	const routes = `
routes:
  - name: open
    path: /open/{id}
    sql: SELECT customer_id, name FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 60s
cache: {max_bytes: 16MiB}
`
	db := pgtest.NewDatabase(b, routeSchema)
	off := startServer(b, parseConfig(b, routes), db)
	on := startServer(b, parseConfig(b, routes+fmt.Sprintf("tracing: {otlp_endpoint: %q, sample: 0}\n", collector.URL)), db)
	b.Run("off", func(b *testing.B) { benchmarkHandler(b, off, "/open/7") })
	b.Run("on/unsampled", func(b *testing.B) { benchmarkHandler(b, on, "/open/7") })
	b.Run("on/sampled", func(b *testing.B) {
		benchmarkHandler(b, on, "/open/7", "Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	})
}
