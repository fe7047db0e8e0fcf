package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// attackSchema gives the attacker something to damage: rows, a sequence,
// and a large object that exists (so lo_* reads and writes could work).
const attackSchema = `
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int NOT NULL);
INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 20) g;
CREATE SEQUENCE seq;
SELECT lo_from_bytea(4242, 'secret large object');`

// attacks are statements a read-only account sends to change the database
// or the server. Each must be refused before it reaches PostgreSQL (403
// naming what it needs; 400 for more than one statement) and leave nothing
// behind. The spellings are the ones that passed a hand lexer: quoting,
// case, U& escapes, schema qualification, comments ended by \r, nesting,
// CTEs, EXPLAIN forms and SQL inside strings.
var attacks = []struct {
	sql    string
	status int
	names  string // what the 403 message must name
}{
	{"SELECT set_config('work_mem', '1GB', false)", 403, "set_config"},
	{`SELECT U&"set_config"('work_mem', '1GB', false)`, 403, "set_config"},
	{`SELECT U&"\0073et_config"('work_mem', '1GB', false)`, 403, "set_config"},
	{`SELECT "set_config"('statement_timeout', '0', false)`, 403, "set_config"},
	{"SELECT pg_catalog.set_config('role', 'none', false)", 403, "set_config"},
	{`SELECT "pg_catalog"."set_config"('work_mem', '1GB', false)`, 403, "set_config"},
	{"SELECT PG_CATALOG.SET_CONFIG('work_mem', '1GB', false)", 403, "set_config"},
	{"SELECT --\r set_config('work_mem', '1GB', false)", 403, "set_config"},
	{"SELECT /* \r */ set_config('work_mem', '1GB', false)", 403, "set_config"},
	{"SELECT (SELECT set_config('work_mem', '1GB', false))", 403, "set_config"},
	{"SELECT * FROM set_config('work_mem', '1GB', false)", 403, "set_config"},
	{"WITH s AS (SELECT set_config('work_mem', '1GB', false)) SELECT * FROM s", 403, "set_config"},
	{"SELECT 1 WHERE set_config('work_mem', '1GB', false) IS NOT NULL", 403, "set_config"},
	{"SELECT id FROM items ORDER BY set_config('work_mem', '1GB', false)", 403, "set_config"},
	{"SELECT 1 UNION ALL SELECT length(set_config('work_mem', '1GB', false))", 403, "set_config"},
	{"VALUES (set_config('work_mem', '1GB', false))", 403, "set_config"},
	{"SELECT count(*) FROM items i WHERE EXISTS (SELECT set_config('role', 'none', false))", 403, "set_config"},
	{"SELECT query_to_xml('select set_config(''work_mem'', ''1GB'', false)', true, true, '')", 403, "query_to_xml"},
	{"SELECT query_to_xml_and_xmlschema('select 1', true, true, '')", 403, "query_to_xml_and_xmlschema"},
	{"SELECT table_to_xml('items', true, true, '')", 403, "table_to_xml"},
	{"SELECT database_to_xml(true, true, '')", 403, "database_to_xml"},
	{"SELECT schema_to_xml('public', true, true, '')", 403, "schema_to_xml"},
	{"SELECT dblink('dbname=x', 'select 1')", 403, "dblink"},
	{"SELECT pg_advisory_lock(42)", 403, "pg_advisory_lock"},
	{`SELECT "pg_advisory_lock"(7)`, 403, "pg_advisory_lock"},
	{"SELECT pg_try_advisory_lock(42)", 403, "pg_try_advisory_lock"},
	{"SELECT pg_advisory_lock_shared(42)", 403, "pg_advisory_lock_shared"},
	{"SELECT pg_advisory_xact_lock(42)", 403, "pg_advisory_xact_lock"},
	{"SELECT count(pg_advisory_lock(g)) FROM generate_series(1, 100) g", 403, "pg_advisory_lock"},
	{"SELECT pg_advisory_unlock_all()", 403, "pg_advisory_unlock_all"},
	{"SELECT lo_from_bytea(0, 'x')", 403, "lo_from_bytea"},
	{"SELECT lo_create(0)", 403, "lo_create"},
	{"SELECT lo_creat(-1)", 403, "lo_creat"},
	{"SELECT lo_put(4242, 0, 'overwritten')", 403, "lo_put"},
	{"SELECT lo_unlink(4242)", 403, "lo_unlink"},
	{"SELECT lo_import('/etc/hostname')", 403, "lo_import"},
	{"SELECT lo_export(4242, '/tmp/pgfast-attack')", 403, "lo_export"},
	{"SELECT lowrite(lo_open(4242, 131072), 'x')", 403, "lo_open"},
	{"SELECT lo_get(4242)", 403, "lo_get"},
	{"SELECT pg_notify('pgfast_invalidate', '*')", 403, "pg_notify"},
	{"NOTIFY pgfast_invalidate, '*'", 403, "NOTIFY"},
	{"LISTEN pgfast_invalidate", 403, "LISTEN"},
	{"SELECT pg_read_file('postgresql.conf')", 403, "pg_read_file"},
	{"SELECT pg_read_binary_file('postgresql.conf')", 403, "pg_read_binary_file"},
	{"SELECT * FROM pg_ls_dir('.')", 403, "pg_ls_dir"},
	{"SELECT pg_stat_file('postgresql.conf')", 403, "pg_stat_file"},
	{"SELECT pg_reload_conf()", 403, "pg_reload_conf"},
	{"SELECT pg_terminate_backend(pid) FROM pg_stat_activity", 403, "pg_terminate_backend"},
	{"SELECT pg_cancel_backend(1)", 403, "pg_cancel_backend"},
	{"SELECT pg_rotate_logfile()", 403, "pg_rotate_logfile"},
	{"SELECT pg_switch_wal()", 403, "pg_switch_wal"},
	{"SELECT setval('seq', 100)", 403, "setval"},
	{"SELECT nextval('seq')", 403, "nextval"},
	{"EXPLAIN ANALYSE DELETE FROM items", 403, "DELETE"},
	{"EXPLAIN ANALYZE DELETE FROM items", 403, "DELETE"},
	{"explain (analyze) delete from items", 403, "DELETE"},
	{"EXPLAIN (ANALYZE true, FORMAT JSON) UPDATE items SET qty = 0", 403, "UPDATE"},
	{"WITH d AS ( --\r DELETE FROM items RETURNING *) SELECT * FROM d", 403, "DELETE"},
	{"WITH d AS (UPDATE items SET qty = 0 RETURNING *) SELECT count(*) FROM d", 403, "UPDATE"},
	{"WITH a AS (SELECT 1), b AS (INSERT INTO items VALUES (99, 'x', 1) RETURNING 1) SELECT * FROM a", 403, "INSERT"},
	{"INSERT INTO items VALUES (1, 'x', 1) ON CONFLICT (id) DO UPDATE SET qty = 0", 403, "INSERT"},
	{"SELECT * INTO items_copy FROM items", 403, "DDL"},
	{"SELECT * FROM items FOR UPDATE", 403, "UPDATE"},
	{"SELECT * FROM items FOR NO KEY UPDATE", 403, "UPDATE"},
	{"SELECT * FROM items FOR SHARE", 403, "UPDATE"},
	{"DELETE FROM items", 403, "DELETE"},
	{"MERGE INTO items i USING (SELECT 1 AS id) s ON i.id = s.id WHEN MATCHED THEN DELETE", 403, "DELETE"},
	{"TRUNCATE items", 403, "DDL"},
	{"CREATE TEMP TABLE tt (x int)", 403, "DDL"},
	{"SET work_mem = '1GB'", 403, "OTHER"},
	{"SET ROLE NONE", 403, "OTHER"},
	{"RESET ALL", 403, "OTHER"},
	{"DO $$BEGIN PERFORM set_config('work_mem', '1GB', false); END$$", 403, "OTHER"},
	{"COPY items TO STDOUT", 403, "OTHER"},
	{"PREPARE p AS SELECT 1", 403, "OTHER"},
	{"DECLARE c CURSOR WITH HOLD FOR SELECT 1", 403, "OTHER"},
	{"SELECT 1; SELECT set_config('work_mem', '1GB', false)", 400, "2 statements"},
	{"SELECT 1 --\r; DELETE FROM items", 400, "2 statements"},
}

// attackFixture serves one read-only account that logs in as a role which
// could write everything, with one connection so every request shares a
// backend, and a cached route that a NOTIFY would purge.
type attackFixture struct {
	*testServer
	dbURL string
}

func newAttackFixture(t *testing.T) *attackFixture {
	t.Helper()
	dbURL := pgtest.NewDatabase(t, attackSchema)
	writer := fmt.Sprintf("atk_%d", time.Now().UnixNano()%1e9)
	superExecEngine(t, dbURL, "CREATE ROLE "+writer+" LOGIN; GRANT ALL ON ALL TABLES IN SCHEMA public TO "+writer+
		"; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "+writer+"; GRANT CREATE ON SCHEMA public TO "+writer)
	writerURL := strings.Replace(dbURL, "postgres@", writer+"@", 1)
	cfg := parseConfig(t, fmt.Sprintf(`
databases:
  main: {url: %q}
routes:
  - {name: item, path: "/items/{id}", sql: "SELECT id, name, qty FROM items WHERE id = $1", params: [path.id], cache: 1h, invalidate_on: [items]}
accounts:
  - {id: ro, api_token: tok_ro, database_url: %q, allowed_operations: [SELECT], max_connections: 1}
`, dbURL, writerURL))
	return &attackFixture{testServer: startServer(t, cfg, ""), dbURL: dbURL}
}

// superExecEngine runs sql as the test cluster's superuser.
func superExecEngine(t *testing.T, dbURL, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// worldState is what an attack could change, read by the superuser: the
// table's contents, large objects, advisory locks anywhere in the cluster,
// tables in the schema, the sequence, and what the account's next request
// sees on its (single) backend.
func (f *attackFixture) worldState(t *testing.T) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), f.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var db string
	err = conn.QueryRow(context.Background(), `SELECT concat_ws('|',
		(SELECT md5(string_agg(i::text, ',' ORDER BY id)) FROM items i),
		(SELECT count(*) FROM pg_largeobject_metadata),
		(SELECT md5(string_agg(data::text, '' ORDER BY pageno)) FROM pg_largeobject WHERE loid = 4242),
		(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'),
		(SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace),
		(SELECT last_value FROM seq))`).Scan(&db)
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "POST", f.url+"/v1/query", `{"query":"SELECT pg_backend_pid() AS pid, current_user AS u, current_setting('work_mem') AS wm, current_setting('statement_timeout') AS st, current_setting('default_transaction_read_only') AS ro, current_setting('search_path') AS sp, (SELECT count(*) FROM pg_listening_channels()) AS l, (SELECT count(*) FROM pg_prepared_statements WHERE from_sql) AS ps"}`,
		"Authorization", "Bearer tok_ro")
	r.expect(t, 200)
	var session struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.body), &session); err != nil || len(session.Rows) != 1 {
		t.Fatalf("session probe: %s (%v)", r.body, err)
	}
	return fmt.Sprintf("db=%s session=%v", db, session.Rows[0])
}

// TestReadOnlyAccountAttacks is the trust boundary's acceptance test: every
// attack is refused with its status, names what it needs, and changes
// nothing PostgreSQL holds, nothing the next request sees, and not the
// cache.
func TestReadOnlyAccountAttacks(t *testing.T) {
	if len(attacks) < 60 {
		t.Fatalf("only %d attacks; the acceptance asks for at least 60", len(attacks))
	}
	f := newAttackFixture(t)
	get(t, f.url+"/items/1").expect(t, 200)
	before := f.worldState(t)
	for _, a := range attacks {
		body, _ := json.Marshal(map[string]any{"query": a.sql})
		r := do(t, "POST", f.url+"/v1/query", string(body), "Authorization", "Bearer tok_ro")
		if r.status != a.status || !strings.Contains(r.body, a.names) {
			t.Errorf("%q: got %d %s; want %d naming %q", a.sql, r.status, clip(r.body), a.status, a.names)
		}
		if after := f.worldState(t); after != before {
			t.Fatalf("%q changed the world:\n before %s\n after  %s", a.sql, before, after)
		}
	}
	// A NOTIFY that got through would have purged the cached route by now.
	time.Sleep(200 * time.Millisecond)
	hits := f.e.Stats().Cache.Hits
	get(t, f.url+"/items/1").expect(t, 200)
	if got := f.e.Stats().Cache; got.Hits != hits+1 || got.Purges != 0 {
		t.Fatalf("cache after the attacks: %d hits (want %d), %d purges (want 0)", got.Hits, hits+1, got.Purges)
	}
}

// TestAccountSessionsParseLikeTheClassifier: with a database whose default
// is standard_conforming_strings=off, PostgreSQL would read backslashes in
// literals differently from sqlclass (which parses with the default, on);
// account sessions run with it on whatever the database says.
func TestAccountSessionsParseLikeTheClassifier(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off', current_database()); END$$")
	ts := startServer(t, parseConfig(t, `
accounts:
  - {id: ro, api_token: tok_ro, allowed_operations: [SELECT], max_connections: 1}
`), dbURL)
	// 'a\' ends the literal when standard_conforming_strings is on; off,
	// the backslash escapes the quote and set_config would become code.
	body, _ := json.Marshal(map[string]any{"query": `SELECT current_setting('standard_conforming_strings') AS scs, 'a\' AS lit`})
	r := do(t, "POST", ts.url+"/v1/query", string(body), "Authorization", "Bearer tok_ro")
	r.expect(t, 200, `"scs":"on"`, `"lit":"a\\"`)
}

// TestRefusedBatchStatementsNeverReachPostgreSQL: a batch statement the
// account may not run is not even prepared (parsing a DELETE takes its
// table's lock), while its neighbours run.
func TestRefusedBatchStatementsNeverReachPostgreSQL(t *testing.T) {
	f := newAttackFixture(t)
	r := do(t, "POST", f.url+"/v1/batch", `{"queries":[{"query":"DELETE FROM items"},{"query":"SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE 'DELETE%'"}]}`,
		"Authorization", "Bearer tok_ro")
	r.expect(t, 200, `"code":"forbidden"`, `"rows":[{"n":0}]`)
	r = do(t, "POST", f.url+"/v1/query", `{"query":"SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE 'DELETE%'"}`,
		"Authorization", "Bearer tok_ro")
	r.expect(t, 200, `"rows":[{"n":0}]`)
}

// TestHugeRowIsRefusedNotBuffered: a row bigger than the pool's message
// bound fails the query (413) instead of costing the process its size, and
// the account keeps working.
func TestHugeRowIsRefusedNotBuffered(t *testing.T) {
	f := newAttackFixture(t)
	r := do(t, "POST", f.url+"/v1/query", `{"query":"SELECT repeat('x', 100000000) AS big"}`, "Authorization", "Bearer tok_ro")
	r.expect(t, 413, `"code":"too_large"`)
	do(t, "POST", f.url+"/v1/query", `{"query":"SELECT 1 AS one"}`, "Authorization", "Bearer tok_ro").expect(t, 200, `"one":1`)
}

// TestNULBytesAreBadRequests: a NUL byte in SQL text or in a parameter is
// the client's error, named, and never reaches PostgreSQL (which would
// refuse it as a broken connection).
func TestNULBytesAreBadRequests(t *testing.T) {
	f := newAttackFixture(t)
	for _, tc := range []struct{ body, names string }{
		{`{"query":"SELECT 1\u0000; DELETE FROM items"}`, "NUL byte at offset 8"},
		{`{"query":"SELECT $1::text AS s","params":["a\u0000b"]}`, "params[0]"},
		{`{"query":"SELECT $1::text[] AS s","params":[["a\u0000b"]]}`, "params[0]"},
	} {
		r := do(t, "POST", f.url+"/v1/query", tc.body, "Authorization", "Bearer tok_ro")
		if r.status != 400 || !strings.Contains(r.body, tc.names) || !strings.Contains(r.body, "NUL") {
			t.Errorf("%s: got %d %s; want 400 naming %q and the NUL byte", tc.body, r.status, clip(r.body), tc.names)
		}
	}
	get(t, f.url+"/items/%00").expect(t, 400, "path.id")
}
