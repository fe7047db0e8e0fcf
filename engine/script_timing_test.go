package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// BenchmarkScriptedCachedRoute is a cached route with a no-op
// on_response against the same route without a script, through the
// engine's handler: the script stage's own cost (README).
func BenchmarkScriptedCachedRoute(b *testing.B) {
	noop := filepath.Join(b.TempDir(), "noop.lua")
	if err := os.WriteFile(noop, []byte("function on_response(req, res) end\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	ts := startServer(b, parseConfig(b, `
routes:
  - {name: plain, path: "/plain/{id}", sql: "SELECT $1::int AS id", params: [path.id], cache: 60s}
  - {name: scripted, path: "/scripted/{id}", sql: "SELECT $1::int AS id", params: [path.id], cache: 60s, script: `+noop+`}
`), pgtest.NewDatabase(b))
	b.Run("plain", func(b *testing.B) { benchmarkHandler(b, ts, "/plain/7") })
	b.Run("noop-on_response", func(b *testing.B) { benchmarkHandler(b, ts, "/scripted/7") })
}
