package engine

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

const prewarmSchema = `
CREATE SEQUENCE runs;
CREATE TABLE product (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO product VALUES (1, 'one'), (2, 'two'), (3, 'three');
`

// prewarmConfig has a route keyed by path, query and header params, one
// keyed by a defaulted param only, and the prewarm entries given.
const prewarmConfig = `
routes:
  - name: product
    path: /products/{id}
    sql: SELECT id, name, $2::int AS lim, $3::text AS tenant, nextval('runs') AS run FROM product WHERE id = $1
    params: [path.id, {from: query.limit, default: 10}, {from: header.X-Tenant, required: true}]
    cache: 60s
  - name: products
    path: /products
    sql: SELECT id, nextval('runs') AS run FROM product WHERE id <= $1 ORDER BY id
    params: [{from: query.upto, default: 2}]
    result: many
    cache: 60s
cache:
  prewarm:
`

// TestPrewarmFillsBeforeFirstRequest starts an engine with cache.prewarm
// entries and checks that the first requests for those params are cache
// hits answered with the prewarm's rows; a bad entry is logged and blocks
// nothing; a reload fills only the entries it adds.
func TestPrewarmFillsBeforeFirstRequest(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, prewarmSchema)
	logs := &syncBuffer{}
	entries := `    - {route: product, params: {path.id: 2, query.limit: 5, header.x-tenant: acme}}
    - {route: products}
    - {route: product, params: {path.id: abc, header.X-Tenant: acme}}
`
	cfg := parseConfig(t, prewarmConfig+entries)
	cfg.Databases[config.MainDatabase] = config.NewDatabase(dbURL)
	e, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), AuditWriter: io.Discard})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	ts := serveEngine(t, e)

	waitPrewarmed := func(runs int) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(logs.String(), `"msg":"cache prewarmed"`) < runs {
			if time.Now().After(deadline) {
				t.Fatalf("prewarm run %d not done within 10s; log:\n%s", runs, logs.String())
			}
			time.Sleep(10 * time.Millisecond) // polling interval
		}
		lines := strings.Split(logs.String(), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.Contains(lines[i], `"msg":"cache prewarmed"`) {
				return lines[i]
			}
		}
		return ""
	}
	line := waitPrewarmed(1)
	if !strings.Contains(line, `"filled":2,"fresh":0,"failed":1`) {
		t.Fatalf("got %s; want 2 filled and 1 failed", line)
	}
	if !strings.Contains(logs.String(), `path.id: \"abc\" is not a valid int4`) {
		t.Fatalf("the bad entry's error is not logged:\n%s", logs.String())
	}

	// The first requests hit, and carry the rows the prewarm read.
	expectHit := func(path string, headers ...string) response {
		t.Helper()
		before := e.cache.Stats()
		r := get(t, ts.url+path, headers...)
		r.expect(t, 200)
		if s := e.cache.Stats(); s.Hits != before.Hits+1 || s.Fills != before.Fills {
			t.Fatalf("GET %s: cache hits +%d, fills +%d; want a hit and no fill", path, s.Hits-before.Hits, s.Fills-before.Fills)
		}
		return r
	}
	r := expectHit("/products/2?limit=5", "X-Tenant", "acme")
	if !strings.Contains(r.body, `"id":2,"name":"two","lim":5,"tenant":"acme"`) {
		t.Fatalf("got %s; want product 2 with limit 5 and tenant acme", r.body)
	}
	expectHit("/products")
	expectHit("/products?upto=2") // the default, written out: the same key
	// Other params miss and fill: the entries were keyed by their own values.
	before := e.cache.Stats()
	get(t, ts.url+"/products/2?limit=6", "X-Tenant", "acme").expect(t, 200, `"lim":6`)
	if s := e.cache.Stats(); s.Fills != before.Fills+1 {
		t.Fatalf("limit=6: fills +%d; want 1 (a miss)", s.Fills-before.Fills)
	}

	// A reload with the routes unchanged keeps their entries: only the new
	// entry is filled.
	next := parseConfig(t, prewarmConfig+entries+"    - {route: product, params: {path.id: 3, header.X-Tenant: acme}}\n")
	next.Databases[config.MainDatabase] = config.NewDatabase(dbURL)
	if err := e.ReloadConfig(context.Background(), next); err != nil {
		t.Fatalf("reload: %v", err)
	}
	line = waitPrewarmed(2)
	if !strings.Contains(line, `"filled":1,"fresh":2,"failed":1`) {
		t.Fatalf("after the reload got %s; want 1 filled and 2 fresh", line)
	}
	r = expectHit("/products/3", "X-Tenant", "acme")
	if !strings.Contains(r.body, `"id":3,"name":"three","lim":10`) {
		t.Fatalf("got %s; want product 3 with the default limit", r.body)
	}
}

// TestPrewarmStopsWithClose closes an engine while its prewarm runs
// queries that take far longer than the test: Close cancels them and
// returns.
func TestPrewarmStopsWithClose(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, prewarmSchema)
	cfg := parseConfig(t, `
routes:
  - name: slow
    path: /slow/{n}
    sql: SELECT pg_sleep(30)::text || $1 AS slept
    params: [path.n]
    timeout: 0
    cache: 60s
cache:
  prewarm:
    - {route: slow, params: {path.n: 1}}
    - {route: slow, params: {path.n: 2}}
`)
	cfg.Databases[config.MainDatabase] = config.NewDatabase(dbURL)
	e, err := New(context.Background(), cfg, Options{Logger: discardLogger(), AuditWriter: io.Discard})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	// Wait until both fills run on the database.
	deadline := time.Now().Add(10 * time.Second)
	for e.state.Load().mainDB().pool.Stats().InUse < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the prewarm fills did not start within 10s")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	closed := make(chan struct{})
	start := time.Now()
	go func() {
		e.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10s of a prewarm running 30s queries")
	}
	t.Logf("Close returned after %s", time.Since(start))
}
