package sqlclass

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// The differential test puts the classifier against PostgreSQL itself.
// Whatever Classify would let a SELECT-only account run is run, as a role
// with nothing but SELECT, inside BEGIN READ ONLY … ROLLBACK. If PostgreSQL
// then reports a write attempt (25006 read_only_sql_transaction, or 42501 on
// a privilege beyond SELECT), or the session keeps something past the
// rollback (an advisory lock, a LISTEN, a prepared statement, a cursor), the
// classifier let through what it must not, and the test fails. The other
// direction (refused, though PostgreSQL would have run it) is only counted:
// refusing is the safe mistake.

// diffSetup is the database the statements run in: tables with rows, a
// sequence, a view, a large object, and a role that may only read them.
var diffSetup = []string{`
CREATE TABLE t (id int PRIMARY KEY, v text, n int);
INSERT INTO t SELECT g, 'v' || g, g % 7 FROM generate_series(1, 100) g;
CREATE TABLE s (id int PRIMARY KEY, v text);
INSERT INTO s SELECT g, 'w' || g FROM generate_series(50, 150) g;
CREATE TABLE p (id int, v text) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (1000);
INSERT INTO p SELECT id, v FROM t;
CREATE SEQUENCE seq;
CREATE VIEW tv AS SELECT * FROM t;
CREATE MATERIALIZED VIEW mv AS SELECT * FROM t;
CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql IMMUTABLE RETURN x + 1;
SELECT lo_from_bytea(4242, 'large object');
`}

var diffRoleSeq atomic.Int64

// diffRunner runs statements as the SELECT-only role, one connection, one
// statement at a time.
type diffRunner struct {
	url  string // as the role
	conn *pgconn.PgConn

	allowed, refused   int
	refusedButPGRan    int
	refusedButExamples []string
}

func newDiffRunner(tb testing.TB) *diffRunner {
	tb.Helper()
	super := pgtest.NewDatabase(tb, diffSetup...)
	role := fmt.Sprintf("sqlclass_ro_%d_%d", time.Now().UnixNano()%1e9, diffRoleSeq.Add(1))
	superExec(tb, super, fmt.Sprintf(`CREATE ROLE %[1]s LOGIN;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO %[1]s;
GRANT SELECT ON SEQUENCE seq TO %[1]s;`, role))
	tb.Cleanup(func() {
		ctx := context.Background()
		if c, err := pgconn.Connect(ctx, super); err == nil {
			// The database is dropped after this; the role is cluster-wide.
			_, _ = c.Exec(ctx, "REASSIGN OWNED BY "+role+" TO CURRENT_USER; DROP OWNED BY "+role).ReadAll()
			_ = c.Close(ctx)
		}
		superExecLater(super, "DROP ROLE IF EXISTS "+role)
	})
	u, err := url.Parse(super)
	if err != nil {
		tb.Fatal(err)
	}
	u.User = url.User(role)
	r := &diffRunner{url: u.String()}
	r.connect(tb)
	tb.Cleanup(func() { _ = r.conn.Close(context.Background()) })
	return r
}

func (r *diffRunner) connect(tb testing.TB) {
	tb.Helper()
	if r.conn != nil {
		_ = r.conn.Close(context.Background())
	}
	conn, err := pgconn.Connect(context.Background(), r.url)
	if err != nil {
		tb.Fatalf("cannot connect as the read-only role: %v", err)
	}
	r.conn = conn
}

// allowedForSelectOnly is what the engine lets a SELECT-only account run.
func allowedForSelectOnly(st *Statement, err error) bool {
	return err == nil && st.Statements == 1 && st.Ops == OpSet(0).With(OpSelect) && len(st.Restricted) == 0
}

// check classifies sql, runs it, and fails t if the classifier allowed
// something PostgreSQL saw as more than a read.
func (r *diffRunner) check(t testing.TB, sql string) {
	t.Helper()
	st, err := Classify(sql)
	if allowedForSelectOnly(st, err) {
		r.allowed++
		if problem, _ := r.run(t, sql, true); problem != "" {
			t.Errorf("classified as a plain read, but %s:\n%q", problem, sql)
		}
		return
	}
	if err != nil || st.Statements != 1 || st.Command == "COPY" {
		return // not run: PostgreSQL would refuse it too, or it needs the copy protocol
	}
	r.refused++
	if _, err := r.run(t, sql, false); err == nil {
		r.refusedButPGRan++
		if len(r.refusedButExamples) < 12 || os.Getenv("SQLCLASS_DIFF_VERBOSE") != "" {
			r.refusedButExamples = append(r.refusedButExamples, fmt.Sprintf("%.100q (%s %v)", sql, st.Ops, funcNames(st.Restricted)))
		}
	}
}

func funcNames(fs []Func) []string {
	var n []string
	for _, f := range fs {
		n = append(n, f.Name)
	}
	return n
}

// run executes sql in a read-only transaction and returns what showed more
// than a read ("" if nothing did) and PostgreSQL's error. A statement the classifier allowed goes through the
// simple protocol, so a disagreement about where statements end would run
// the rest too and be seen; a refused one goes through the extended
// protocol, which runs one statement at most.
func (r *diffRunner) run(t testing.TB, sql string, allowed bool) (problem string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := r.conn.Exec(ctx, "BEGIN READ ONLY; SET LOCAL statement_timeout = '500ms'; SET LOCAL lock_timeout = '200ms'").ReadAll(); err != nil {
		r.connect(t)
		if _, err := r.conn.Exec(ctx, "BEGIN READ ONLY; SET LOCAL statement_timeout = '500ms'").ReadAll(); err != nil {
			t.Fatalf("cannot begin: %v", err)
		}
	}
	if allowed {
		_, err = r.conn.Exec(ctx, sql).ReadAll()
	} else {
		err = r.conn.ExecParams(ctx, sql, nil, nil, nil, nil).Read().Err
	}
	problem = writeAttempt(err)
	if r.conn.IsClosed() {
		r.connect(t)
		if problem == "" {
			problem = fmt.Sprintf("the connection was lost (%v)", err)
		}
		if err == nil {
			err = errors.New("connection lost")
		}
		return problem, err
	}
	if _, rerr := r.conn.Exec(ctx, "ROLLBACK").ReadAll(); rerr != nil {
		r.connect(t)
		return problem, err
	}
	// What a rollback does not undo.
	res, lerr := r.conn.Exec(ctx, `SELECT concat_ws(', ',
  (SELECT nullif(count(*), 0) || ' advisory lock(s)' FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
  (SELECT nullif(count(*), 0) || ' LISTEN(s)' FROM pg_listening_channels()),
  (SELECT nullif(count(*), 0) || ' prepared statement(s)' FROM pg_prepared_statements),
  (SELECT nullif(count(*), 0) || ' open cursor(s)' FROM pg_cursors))`).ReadAll()
	if lerr != nil {
		r.connect(t)
		return problem, err
	}
	if left := string(res[0].Rows[0][0]); left != "" && problem == "" {
		problem = "the session kept " + left + " after ROLLBACK"
	}
	if _, derr := r.conn.Exec(ctx, "DISCARD ALL").ReadAll(); derr != nil {
		r.connect(t)
	}
	return problem, err
}

// writeAttempt names a PostgreSQL error that shows a write, or a privilege
// the role does not have beyond SELECT; "" for other outcomes (no error, a
// timeout, a type error, reading a catalog the role may not read).
func writeAttempt(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return ""
	}
	switch pe.Code {
	case "25006": // read_only_sql_transaction
		return "PostgreSQL refused a write: " + pe.Message
	case "42501": // insufficient_privilege
		m := pe.Message
		if strings.HasPrefix(m, "permission denied for function ") ||
			strings.HasPrefix(m, "permission denied for table pg_") ||
			strings.HasPrefix(m, "permission denied for view pg_") {
			return "" // EXECUTE, or reading a protected catalog: not writes
		}
		return "PostgreSQL refused a privilege beyond SELECT: " + m
	}
	return ""
}

func superExec(tb testing.TB, dbURL, sql string) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// superExecLater runs sql as the superuser in the cluster's maintenance
// database, after the test database (dbURL's) is gone; errors are ignored.
func superExecLater(dbURL, sql string) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return
	}
	u.Path = "/postgres"
	ctx := context.Background()
	if c, err := pgconn.Connect(ctx, u.String()); err == nil {
		_, _ = c.Exec(ctx, sql).ReadAll()
		_ = c.Close(ctx)
	}
}

// FuzzDifferential runs its seeds (testdata/fuzz/FuzzDifferential) in
// every go test, and with -fuzz explores from them.
func FuzzDifferential(f *testing.F) {
	if testing.Short() {
		f.Skip("needs PostgreSQL")
	}
	for _, s := range generatedStatements()[:40] {
		f.Add(s)
	}
	r := newDiffRunner(f)
	f.Fuzz(func(t *testing.T, sql string) {
		r.check(t, sql)
		// Mutations are mostly not statements; give the expressions and
		// conditions among them a statement to live in.
		if _, err := Classify(sql); err != nil {
			r.check(t, "SELECT "+sql)
			r.check(t, "SELECT * FROM t WHERE "+sql)
		}
	})
}

// TestDifferential runs every seed and every generated combination, and
// reports how often the classifier was stricter than PostgreSQL.
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	r := newDiffRunner(t)
	texts := append(corpusTexts(t), generatedStatements()...)
	for _, sql := range texts {
		r.check(t, sql)
	}
	t.Logf("%d texts: %d allowed to a SELECT-only account and run without a write; %d refused, of which PostgreSQL would have run %d, e.g.:\n  %s",
		len(texts), r.allowed, r.refused, r.refusedButPGRan, strings.Join(r.refusedButExamples, "\n  "))
	if r.allowed < 100 || r.refused < 100 {
		t.Fatalf("too few statements on one side (%d allowed, %d refused): is the corpus broken?", r.allowed, r.refused)
	}
}

// TestDifferentialCatchesWrites proves the oracle: statements that do write
// or keep session state must be reported when run as if allowed.
func TestDifferentialCatchesWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	r := newDiffRunner(t)
	for _, sql := range []string{
		"DELETE FROM t WHERE id = 1",
		"UPDATE t SET n = n",
		"INSERT INTO t VALUES (1000, 'x', 1)",
		"SELECT * FROM t FOR UPDATE",
		"SELECT * FROM t FOR KEY SHARE",
		"SELECT nextval('seq')",
		"SELECT lo_unlink(4242)",
		"SELECT pg_advisory_lock(42)",
		"PREPARE q AS SELECT 1", // kept past ROLLBACK, as session-level advisory locks are
		"SELECT * INTO t9 FROM t",
		"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
		"EXPLAIN ANALYZE DELETE FROM t",
		"SELECT 1; DELETE FROM t",
	} {
		if problem, _ := r.run(t, sql, true); problem == "" {
			t.Errorf("the differential oracle did not notice %q", sql)
		}
	}
	if problem, _ := r.run(t, "SELECT count(*) FROM t JOIN s USING (id)", true); problem != "" {
		t.Errorf("a plain read reported: %s", problem)
	}
}

// generatedStatements crosses dangerous expressions with the places a
// statement can hide them, and writes with the wrappers that carry them.
func generatedStatements() []string {
	exprs := []string{
		"set_config('work_mem', '64kB', false)",
		`"set_config"('work_mem', '64kB', false)`,
		`U&"\0073et_config"('work_mem', '64kB', false)`,
		"pg_catalog.set_config('work_mem', '64kB', false)",
		"SET_CONFIG --\r\n('work_mem', '64kB', false)",
		"pg_advisory_lock(42)",
		"pg_try_advisory_lock(43)",
		"pg_advisory_xact_lock(44)",
		"pg_advisory_lock_shared(45)",
		"(46::bigint).pg_advisory_lock",
		"(47::int8).pg_try_advisory_lock",
		"lo_from_bytea(0, 'x')",
		"lo_put(4242, 0, 'y')",
		"lo_get(4242)",
		"loread(lo_open(4242, 262144), 5)",
		"lo_unlink(4242)",
		"nextval('seq')",
		"setval('seq', 5)",
		"currval('seq')",
		"pg_notify('pgfast_invalidate', '*')",
		"query_to_xml('select pg_advisory_lock(48)', true, true, '')",
		"query_to_xml('delete from t', true, true, '')",
		"ts_stat('select to_tsvector(v) from t')",
		"setseed(0.5)",
		"pg_read_file('PG_VERSION')",
		"pg_ls_dir('.')",
		"pg_stat_reset()",
		"pg_cancel_backend(0)",
		"txid_current()",
		"pg_current_xact_id()",
		"pg_export_snapshot()",
		"current_setting('work_mem')",
		"f(1)",
		"random()",
		"pg_sleep(0)",
		"now()",
		"(SELECT max(id) FROM t)",
		"'pg_advisory_lock(49)'",
	}
	places := []string{
		"SELECT %s",
		"SELECT %s FROM t LIMIT 1",
		"SELECT * FROM t WHERE %s IS NOT NULL LIMIT 1",
		"SELECT * FROM t ORDER BY %s LIMIT 1",
		"SELECT n, count(*) FROM t GROUP BY n HAVING %s IS NOT NULL",
		"SELECT * FROM (SELECT %s) s",
		"WITH c AS (SELECT %s) SELECT * FROM c",
		"WITH c AS MATERIALIZED (SELECT %s) SELECT * FROM c",
		"SELECT 1 UNION ALL SELECT %s::text::int",
		"VALUES (%s)",
		"SELECT (SELECT %s)",
		"SELECT 1 WHERE EXISTS (SELECT %s)",
		"SELECT * FROM t, LATERAL (SELECT %s) l LIMIT 1",
		"SELECT CASE WHEN true THEN %s END",
		"SELECT count(*) FILTER (WHERE %s IS NOT NULL) FROM t",
		"EXPLAIN ANALYZE SELECT %s",
		"EXPLAIN (ANALYZE true, FORMAT JSON) SELECT %s",
		"SELECT * FROM t LIMIT 1 OFFSET length((%s)::text) - length((%s)::text)",
		"/* c */ SELECT --\r %s",
	}
	writes := []string{
		"DELETE FROM t WHERE id = 1",
		"UPDATE t SET n = n + 1 WHERE id = 2",
		"INSERT INTO t VALUES (1001, 'x', 1)",
		"INSERT INTO t VALUES (1, 'x', 1) ON CONFLICT (id) DO UPDATE SET v = excluded.v",
		"INSERT INTO t VALUES (1, 'x', 1) ON CONFLICT DO NOTHING",
		"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v",
		"MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v, 0)",
		"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
		"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DO NOTHING",
		"SELECT * FROM t FOR UPDATE",
		"SELECT * FROM t FOR NO KEY UPDATE",
		"SELECT * FROM t FOR SHARE",
		"SELECT * FROM t FOR KEY SHARE",
		"SELECT * FROM tv FOR UPDATE",
		"SELECT * INTO t3 FROM t",
		"CREATE TEMP TABLE x AS SELECT 1",
		"TRUNCATE t",
		"REFRESH MATERIALIZED VIEW mv",
		"LOCK TABLE t",
		"DELETE FROM p WHERE id = 3",
		"UPDATE pg_settings SET setting = '64kB' WHERE name = 'work_mem'",
	}
	wrappers := []string{
		"%s",
		"WITH w AS (%s) SELECT 1",
		"EXPLAIN ANALYZE %s",
		"EXPLAIN ANALYSE VERBOSE %s",
		"EXPLAIN (ANALYZE true, FORMAT JSON) %s",
		"EXPLAIN (ANALYZE) %s",
		"EXPLAIN %s",
		"-- c\r%s",
		"(%s)",
		"SELECT * FROM (%s) s",
	}
	utilities := []string{
		"SET work_mem = '64kB'", "SET LOCAL work_mem = '64kB'", "RESET ALL", "SET ROLE NONE",
		"SET SESSION AUTHORIZATION DEFAULT", "SET TRANSACTION READ WRITE", "SHOW work_mem",
		"DO $$ BEGIN PERFORM pg_advisory_lock(50); END $$", "LISTEN pgfast_invalidate",
		"NOTIFY pgfast_invalidate, '*'", "UNLISTEN *", "PREPARE q AS SELECT 1", "EXECUTE q", "DEALLOCATE ALL",
		"DECLARE c CURSOR WITH HOLD FOR SELECT 1", "DECLARE c CURSOR FOR SELECT * FROM t", "CLOSE ALL",
		"FETCH ALL FROM c", "COMMIT", "ROLLBACK", "BEGIN", "SAVEPOINT a", "CHECKPOINT", "VACUUM t", "ANALYZE t",
		"DISCARD ALL", "LOAD 'plpgsql'", "CALL p()", "COPY t TO STDOUT", "TABLE t", "TABLE tv", "VALUES (1), (2)",
		"SELECT * FROM mv", "SELECT * FROM p WHERE id < 5", "(SELECT 1)", "SELECT 1 INTERSECT SELECT 1",
		"SELECT * FROM t JOIN s USING (id) WHERE t.id > 60", "SELECT v FROM t WHERE v LIKE 'v1%' ORDER BY id DESC",
	}
	var out []string
	for _, e := range exprs {
		for _, p := range places {
			out = append(out, strings.ReplaceAll(p, "%s", e))
		}
	}
	for _, w := range writes {
		for _, wr := range wrappers {
			inner := w
			if strings.HasPrefix(wr, "WITH") || strings.HasPrefix(wr, "SELECT * FROM (") {
				if !strings.HasPrefix(w, "SELECT") && !strings.HasPrefix(w, "LOCK") && !strings.HasPrefix(w, "TRUNCATE") &&
					!strings.HasPrefix(w, "CREATE") && !strings.HasPrefix(w, "REFRESH") {
					inner = w + " RETURNING 1"
				}
			}
			out = append(out, fmt.Sprintf(wr, inner))
		}
	}
	return append(out, utilities...)
}
