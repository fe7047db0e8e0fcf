package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/internal/testpgbouncer"
)

const pgbouncerSchema = `
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO items SELECT g, 'item' || g FROM generate_series(1, 10) g;
CREATE TABLE hits (worker int NOT NULL, n int NOT NULL, via text NOT NULL);
`

// pgbouncerConfig is statement_cache: describe behind PgBouncer: more
// pgfast connections (max_conns) than PgBouncer has server connections, so
// each server connection serves several pgfast connections in turn.
const pgbouncerConfig = `
databases:
  main: {url: postgres://placeholder, max_conns: 8, acquire_timeout: 10s, statement_cache: describe, application_name: pgfast-pgbouncer}
accounts:
  - {id: rw, api_token: tokrw, allowed_operations: [SELECT, INSERT], max_connections: 64}
routes:
  - {name: item, path: "/items/{id}", sql: "SELECT id, name FROM items WHERE id = $1", params: [path.id], result: one}
  - {name: items, path: /items, sql: "SELECT id, name FROM items ORDER BY id", result: many}
  - name: tuned
    path: "/tuned/{id}"
    sql: "SELECT id, current_setting('work_mem') AS wm, current_setting('statement_timeout') AS st FROM items WHERE id = $1"
    params: [path.id]
    result: one
    settings: {work_mem: 5MB}
    timeout: 7s
  - {name: workmem, path: /workmem, sql: "SELECT current_setting('work_mem')", result: value}
`

// TestPgBouncerTransactionMode runs routes (plain, with settings and a
// timeout), /v1/query and /v1/batch (transaction true and false) through a
// real PgBouncer in transaction mode with statement_cache: describe, from
// more concurrent clients than PgBouncer has server connections. Every
// request must succeed with the right result: a named prepared statement
// left on a server connection would surface as "prepared statement … does
// not exist" (or "already exists") on whichever pgfast connection gets that
// server connection next, and a route's settings leaking out of its
// transaction would show in /workmem.
func TestPgBouncerTransactionMode(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, pgbouncerSchema)
	b := testpgbouncer.Start(t, dbURL)
	ts := startServer(t, parseConfig(t, pgbouncerConfig), b.URL())

	const workers, rounds = 24, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pgbouncerRounds(ts.url, w, rounds); err != nil {
				errs <- fmt.Errorf("worker %d: %w", w, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := false
	for err := range errs {
		failed = true
		t.Error(err)
	}
	if failed {
		t.Fatalf("PgBouncer %s log:\n%s", b.Version(), b.Log())
	}

	// Every write landed once: 1 per /v1/query INSERT, 2 per transactional
	// batch, 1 per non-transactional one.
	got := do(t, "POST", ts.url+"/v1/query", `{"query":"SELECT via, count(*) AS n FROM hits GROUP BY via ORDER BY via"}`, "Authorization", "Bearer tokrw")
	want := fmt.Sprintf(`"rows":[{"via":"batch","n":%d},{"via":"batch-tx","n":%d},{"via":"query","n":%d}]`, workers*rounds, 2*workers*rounds, workers*rounds)
	got.expect(t, 200, want)

	// The sharing the test is about happened: more pgfast connections than
	// server connections, and PostgreSQL saw no more than PgBouncer's pool.
	clients := 0
	for _, c := range b.Show(t, "CLIENTS") {
		if c["database"] != "pgbouncer" {
			clients++
		}
	}
	if clients <= b.PoolSize() {
		t.Fatalf("got %d pgfast connections to PgBouncer; want more than its %d server connections, or nothing was shared", clients, b.PoolSize())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	direct, err := pgconn.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(ctx)
	res := direct.ExecParams(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", nil, nil, nil, nil).Read()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if n, _ := strconv.Atoi(string(res.Rows[0][0])); n < 1 || n > b.PoolSize() {
		t.Fatalf("got %d PostgreSQL backends behind PgBouncer for %d pgfast connections; want 1..%d", n, clients, b.PoolSize())
	}
	if log := b.Log(); strings.Contains(log, "prepared statement") {
		t.Fatalf("PgBouncer's log mentions prepared statements:\n%s", log)
	}

	// An account connection's reset (RESET ALL, pool/reset.go) runs on
	// whichever server connection PgBouncer lends it, which then reports
	// PgBouncer's application_name rather than ours: the pool must not take
	// that for state that survived the reset (it would close every
	// connection after one request). Note the reset itself is only as good
	// as transaction pooling allows: it runs on the server connection of
	// its own transaction.
	var stats struct {
		Accounts map[string]struct {
			Pool struct{ Resets, Discarded, NewConns int64 }
		}
	}
	if err := json.Unmarshal([]byte(get(t, ts.admin+"/admin/stats").body), &stats); err != nil {
		t.Fatal(err)
	}
	if p := stats.Accounts["rw"].Pool; p.Resets == 0 || p.Discarded > 0 {
		t.Fatalf("account pool through PgBouncer: %d resets, %d connections discarded after them, %d new connections; want every connection reset and kept", p.Resets, p.Discarded, p.NewConns)
	}
}

// pgbouncerRounds is one client's traffic: every kind of request, checked.
func pgbouncerRounds(base string, w, rounds int) error {
	for r := range rounds {
		id := (w+r)%10 + 1
		name := fmt.Sprintf(`"name":"item%d"`, id)
		steps := []struct {
			method, path, token, body string
			want                      []string
		}{
			{"GET", fmt.Sprintf("/items/%d", id), "", "", []string{fmt.Sprintf(`{"id":%d,`, id), name}},
			{"GET", "/items", "", "", []string{`{"id":1,"name":"item1"}`, `{"id":10,"name":"item10"}`}},
			{"GET", fmt.Sprintf("/tuned/%d", id), "", "", []string{fmt.Sprintf(`{"id":%d,"wm":"5MB","st":"7s"}`, id)}},
			// The route above set work_mem for its own transaction only,
			// possibly on the server connection this one runs on now.
			{"GET", "/workmem", "", "", []string{`4MB`}},
			{"POST", "/v1/query", "tokrw", fmt.Sprintf(`{"query":"SELECT name FROM items WHERE id = $1","params":[%d]}`, id), []string{`"rows":[{` + name + `}]`}},
			{"POST", "/v1/query", "tokrw", fmt.Sprintf(`{"query":"INSERT INTO hits VALUES ($1, $2, 'query')","params":[%d,%d]}`, w, r), []string{`"row_count":`}},
			{"POST", "/v1/batch", "tokrw", fmt.Sprintf(`{"transaction":true,"queries":[`+
				`{"query":"INSERT INTO hits VALUES ($1, $2, 'batch-tx')","params":[%d,%d]},`+
				`{"query":"INSERT INTO hits VALUES ($1, $2, 'batch-tx')","params":[%d,%d]},`+
				`{"query":"SELECT count(*) AS n FROM hits WHERE worker = $1 AND n = $2 AND via = 'batch-tx'","params":[%d,%d]}]}`, w, r, w, r, w, r),
				[]string{`"rows":[{"n":2}]`}},
			{"POST", "/v1/batch", "tokrw", fmt.Sprintf(`{"transaction":false,"queries":[`+
				`{"query":"SELECT $1::int AS a","params":[%d]},`+
				`{"query":"INSERT INTO hits VALUES ($1, $2, 'batch')","params":[%d,%d]},`+
				`{"query":"SELECT name FROM items WHERE id = $1","params":[%d]}]}`, id, w, r, id),
				[]string{fmt.Sprintf(`"rows":[{"a":%d}]`, id), `"rows":[{` + name + `}]`}},
		}
		for _, s := range steps {
			status, body, err := pgbouncerDo(s.method, base+s.path, s.token, s.body)
			if err != nil {
				return err
			}
			if status != 200 {
				return fmt.Errorf("%s %s %s: got status %d (body %s); want 200", s.method, s.path, s.body, status, clip(body))
			}
			for _, want := range s.want {
				if !strings.Contains(body, want) {
					return fmt.Errorf("%s %s %s: got body %s; want it to contain %s", s.method, s.path, s.body, clip(body), want)
				}
			}
			if strings.Contains(body, `"error"`) {
				return fmt.Errorf("%s %s %s: got an error in body %s", s.method, s.path, s.body, clip(body))
			}
		}
	}
	return nil
}

// pgbouncerDo is do for worker goroutines: it returns errors instead of
// failing the test from a goroutine other than the test's.
func pgbouncerDo(method, url, token, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: reading body: %w", method, url, err)
	}
	return resp.StatusCode, string(b), nil
}

// TestPgBouncerRefusesStartupParameters: pgfast sends some session
// settings in the startup packet (pool/connconfig.go) — statement_timeout,
// databases.NAME.settings, and for account pools also
// default_transaction_read_only (SELECT-only accounts) and role — and
// PgBouncer closes a connection that carries a parameter it neither tracks
// nor ignores, so engine.New fails naming it. Route settings and timeouts are
// not affected: they travel as set_config(…, true) inside each request's
// transaction (TestPgBouncerTransactionMode's /tuned).
func TestPgBouncerRefusesStartupParameters(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, pgbouncerSchema)
	f := func(database, account, want string) {
		t.Helper()
		// PgBouncer ignoring only what no pgfast config sends.
		b := testpgbouncer.StartWith(t, dbURL, testpgbouncer.Options{IgnoreStartupParameters: []string{"extra_float_digits"}})
		// A route makes engine.New connect: it describes every route
		// statement at start.
		yaml := fmt.Sprintf("databases:\n  main: {url: %q, statement_cache: describe, %s}\n", b.URL(), database) +
			"routes:\n  - {name: item, path: \"/items/{id}\", sql: \"SELECT name FROM items WHERE id = $1\", params: [path.id], result: one}\n"
		if account != "" {
			yaml += "accounts:\n  - {id: a, api_token: tok, " + account + "}\n"
		}
		e, err := New(context.Background(), parseConfig(t, yaml), Options{Logger: discardLogger(), AuditWriter: io.Discard})
		if account == "" {
			if err == nil {
				e.Shutdown(context.Background())
				t.Fatalf("databases.main {%s} through PgBouncer: engine.New succeeded; want %q", database, want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("databases.main {%s} through PgBouncer: got %v; want %q", database, err, want)
			}
			return
		}
		// An account's pool connects on its first request, which gets a
		// 503; the reason is in PgBouncer's log (and pgfast's).
		if err != nil {
			t.Fatalf("account {%s} through PgBouncer: engine.New: %v", account, err)
		}
		ts := serveEngine(t, e)
		do(t, "POST", ts.url+"/v1/query", `{"query":"SELECT 1 AS one"}`, "Authorization", "Bearer tok").expect(t, 503, "database unavailable")
		if log := b.Log(); !strings.Contains(log, want) {
			t.Fatalf("account {%s} through PgBouncer: got log\n%s\nwant it to name %q", account, log, want)
		}
	}
	// statement_timeout has a default (30s): a default config is refused.
	f("", "", "unsupported startup parameter: statement_timeout")
	f("statement_timeout: 0, settings: {work_mem: 8MB}", "", "unsupported startup parameter: work_mem")
	f("statement_timeout: 0", "allowed_operations: [SELECT], query_timeout: 0s", "unsupported startup parameter: default_transaction_read_only")
	f("statement_timeout: 0", "allowed_operations: [SELECT, INSERT], query_timeout: 0s, role: pg_read_all_data", "unsupported startup parameter: role")
}

// TestPgBouncerPrepareModeFails is the control: the same traffic with
// statement_cache: prepare through the same kind of PgBouncer runs into the
// named statements a describe-mode pgfast never leaves, so the test above
// would catch a regression.
func TestPgBouncerPrepareModeFails(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, pgbouncerSchema)
	b := testpgbouncer.StartWith(t, dbURL, testpgbouncer.Options{PoolSize: 1})
	ts := startServer(t, parseConfig(t, strings.Replace(pgbouncerConfig, "statement_cache: describe", "statement_cache: prepare", 1)), b.URL())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pgbouncerRounds(ts.url, w, 3)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Logf("prepare mode through PgBouncer: %v", err)
			return
		}
	}
	t.Fatal("prepare mode through PgBouncer in transaction mode served every request; the describe-mode test proves nothing")
}
