package sqlclass

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

func TestClassify(t *testing.T) {
	// f checks one text: the operations of its first statement (as
	// OpSet.String prints them), its command, and the restricted functions
	// it calls, by name. Every case is also checked against the oracle.
	f := func(sql, wantOps, wantCommand string, wantRestricted ...string) {
		t.Helper()
		st, err := Classify(sql)
		if err != nil {
			t.Fatalf("Classify(%q): %v", sql, err)
		}
		if st.Statements != 1 {
			t.Fatalf("Classify(%q): got %d statements; want 1", sql, st.Statements)
		}
		if got := st.Ops.String(); got != wantOps {
			t.Fatalf("Classify(%q): got ops %s; want %s", sql, got, wantOps)
		}
		if st.Command != wantCommand {
			t.Fatalf("Classify(%q): got command %q; want %q", sql, st.Command, wantCommand)
		}
		var names []string
		for _, fn := range st.Restricted {
			if fn.Reason == "" {
				t.Fatalf("Classify(%q): %s has no reason", sql, fn.Name)
			}
			names = append(names, fn.Name)
		}
		if !slices.Equal(names, wantRestricted) {
			t.Fatalf("Classify(%q): got restricted %q; want %q", sql, names, wantRestricted)
		}
		checkAgainstOracle(t, sql)
	}

	// Reads.
	f("SELECT 1", "SELECT", "SELECT")
	f("(SELECT 1)", "SELECT", "SELECT")
	f("((SELECT 1) UNION (SELECT 2)) ORDER BY 1", "SELECT", "SELECT")
	f("TABLE t", "SELECT", "SELECT")
	f("VALUES (1), (2)", "SELECT", "SELECT")
	f("SHOW work_mem", "SELECT", "SHOW")
	f("WITH x AS (SELECT 1) SELECT * FROM x", "SELECT", "SELECT")
	f("EXPLAIN SELECT * FROM t", "SELECT", "EXPLAIN")
	f("SELECT 'set_config(''a'', ''b'', false)' AS s, current_setting('role')", "SELECT", "SELECT")
	f("SELECT $1::int, lower('X'), now(), pg_sleep(0), random()", "SELECT", "SELECT")
	f("SELECT set_config FROM t", "SELECT", "SELECT") // a column, not a call
	f("SELECT count(*) FROM t WHERE v > 1 GROUP BY v HAVING count(*) > 1 ORDER BY 1 LIMIT 5 OFFSET 1", "SELECT", "SELECT")
	f("SELECT * FROM t WHERE id IN (SELECT id FROM t) AND EXISTS (SELECT 1)", "SELECT", "SELECT")
	f("select 1 -- ; DELETE FROM t", "SELECT", "SELECT")

	// Writes, wherever they sit.
	f("INSERT INTO t VALUES (1)", "INSERT", "INSERT") // no SELECT: an INSERT-only account may use VALUES
	f("INSERT INTO t VALUES (1) UNION VALUES (2)", "SELECT,INSERT", "INSERT")
	f("WITH i AS (INSERT INTO t VALUES (1) RETURNING id) INSERT INTO t SELECT id FROM i", "SELECT,INSERT", "INSERT")
	f("INSERT INTO t SELECT * FROM t", "SELECT,INSERT", "INSERT")
	f("INSERT INTO t VALUES ((SELECT max(id) FROM t) + 1)", "SELECT,INSERT", "INSERT")
	f("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", "INSERT", "INSERT")
	f("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = excluded.v", "INSERT,UPDATE", "INSERT")
	f("UPDATE t SET v = 'x' WHERE id = 1", "UPDATE", "UPDATE")
	f("DELETE FROM t WHERE id = 1", "DELETE", "DELETE")
	f("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v", "UPDATE", "MERGE")
	f("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "DELETE", "MERGE")
	f("MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)", "INSERT", "MERGE")
	f("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.v IS NULL THEN DELETE WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)", "INSERT,UPDATE,DELETE", "MERGE")
	f("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DO NOTHING", "UPDATE", "MERGE")
	f("MERGE INTO t USING (SELECT 1 AS id) s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE", "SELECT,DELETE", "MERGE")
	f("WITH d AS ( --\r DELETE FROM t RETURNING *) SELECT * FROM d", "SELECT,DELETE", "SELECT")
	f("WITH u AS (UPDATE t SET v = 'x' RETURNING *) SELECT * FROM u", "SELECT,UPDATE", "SELECT")
	f("with x as (select 1), i as (insert into t values (1) returning *) select 1", "SELECT,INSERT", "SELECT")
	f("SELECT * FROM (WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d) s", "SELECT,DELETE", "SELECT")
	f("SELECT * FROM t WHERE id IN (WITH m AS (MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE RETURNING t.id) SELECT id FROM m)", "SELECT,DELETE", "SELECT")
	f("SELECT * FROM t FOR UPDATE", "SELECT,UPDATE", "SELECT")
	f("SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED", "SELECT,UPDATE", "SELECT")
	f("SELECT * FROM t FOR SHARE", "SELECT,UPDATE", "SELECT")
	f("SELECT * FROM t FOR KEY SHARE NOWAIT", "SELECT,UPDATE", "SELECT")
	f("SELECT * FROM (SELECT * FROM t FOR SHARE) s", "SELECT,UPDATE", "SELECT")
	f("WITH x AS (SELECT * FROM t FOR UPDATE) SELECT 1", "SELECT,UPDATE", "SELECT")
	f("SELECT 1 UNION (SELECT id FROM t FOR UPDATE)", "SELECT,UPDATE", "SELECT")
	f("SELECT * INTO t2 FROM t", "SELECT,DDL", "SELECT INTO")
	f("SELECT * INTO TEMP t2 FROM t", "SELECT,DDL", "SELECT INTO")
	f("EXPLAIN ANALYSE DELETE FROM t", "DELETE", "EXPLAIN")
	f("EXPLAIN ANALYZE VERBOSE INSERT INTO t VALUES (1)", "INSERT", "EXPLAIN")
	f("EXPLAIN (ANALYZE true, FORMAT JSON) DELETE FROM t", "DELETE", "EXPLAIN")
	f("EXPLAIN (ANALYZE) UPDATE t SET v = 'x'", "UPDATE", "EXPLAIN")
	f("EXPLAIN DELETE FROM t", "DELETE", "EXPLAIN") // planned only, but needs what it plans
	f("EXPLAIN (ANALYZE) SELECT * FROM t FOR UPDATE", "SELECT,UPDATE", "EXPLAIN")
	f("EXPLAIN CREATE TABLE x AS SELECT 1", "SELECT,DDL", "EXPLAIN")
	f("EXPLAIN EXECUTE p", "OTHER", "EXPLAIN")
	f("EXPLAIN VALUES (1)", "SELECT", "EXPLAIN")
	f("EXPLAIN INSERT INTO t VALUES (1)", "INSERT", "EXPLAIN")

	// DDL.
	f("CREATE TABLE x (a int)", "DDL", "CREATE TABLE")
	f("CREATE TABLE x AS SELECT 1", "SELECT,DDL", "CREATE TABLE AS")
	f("CREATE MATERIALIZED VIEW mv AS SELECT 1", "SELECT,DDL", "CREATE MATERIALIZED VIEW")
	f("CREATE VIEW v AS SELECT set_config('a', 'b', false)", "SELECT,DDL", "CREATE VIEW", "set_config")
	f("CREATE INDEX ON t (v)", "DDL", "CREATE INDEX")
	f("CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN 1", "DDL", "CREATE FUNCTION")
	f("CREATE PROCEDURE p() BEGIN ATOMIC DELETE FROM t; END", "DELETE,DDL", "CREATE PROCEDURE")
	f("DROP TABLE t", "DDL", "DROP TABLE")
	f("DROP INDEX CONCURRENTLY i", "DDL", "DROP INDEX")
	f("ALTER TABLE t ADD COLUMN c int", "DDL", "ALTER TABLE")
	f("ALTER VIEW v RENAME TO w", "DDL", "ALTER VIEW")
	f("TRUNCATE t", "DDL", "TRUNCATE TABLE")
	f("GRANT SELECT ON t TO public", "DDL", "GRANT")
	f("REVOKE ALL ON t FROM public", "DDL", "REVOKE")
	f("COMMENT ON TABLE t IS 'x'", "DDL", "COMMENT")
	f("REINDEX TABLE t", "DDL", "REINDEX")
	f("CLUSTER t USING t_pkey", "DDL", "CLUSTER")
	f("SECURITY LABEL ON TABLE t IS 'x'", "DDL", "SECURITY LABEL")
	f("IMPORT FOREIGN SCHEMA s FROM SERVER srv INTO public", "DDL", "IMPORT FOREIGN SCHEMA")
	f("REFRESH MATERIALIZED VIEW mv", "DDL", "REFRESH MATERIALIZED VIEW")
	f("CREATE AGGREGATE a (int) (sfunc = f, stype = int)", "DDL", "CREATE AGGREGATE")
	f("CREATE ROLE r", "DDL", "CREATE ROLE")

	// Everything else needs ALL.
	f("SET work_mem = '1GB'", "OTHER", "SET")
	f("SET LOCAL statement_timeout = 0", "OTHER", "SET")
	f("SET SESSION AUTHORIZATION DEFAULT", "OTHER", "SET")
	f("SET ROLE none", "OTHER", "SET")
	f("RESET ALL", "OTHER", "RESET")
	f("SET CONSTRAINTS ALL DEFERRED", "OTHER", "SET CONSTRAINTS")
	f("ALTER SYSTEM SET work_mem = '1GB'", "OTHER", "ALTER SYSTEM")
	f("ALTER ROLE CURRENT_USER SET default_transaction_read_only = off", "OTHER", "ALTER ROLE")
	f("ALTER DATABASE d SET default_transaction_read_only = off", "OTHER", "ALTER DATABASE")
	f("DO $$ BEGIN DELETE FROM t; END $$", "OTHER", "DO")
	f("COPY t TO STDOUT", "OTHER", "COPY")
	f("COPY (SELECT * FROM t) TO STDOUT", "SELECT,OTHER", "COPY")
	f("COPY t FROM PROGRAM 'id'", "OTHER", "COPY")
	f("LISTEN pgfast_invalidate", "OTHER", "LISTEN")
	f("NOTIFY pgfast_invalidate, '*'", "OTHER", "NOTIFY")
	f("UNLISTEN *", "OTHER", "UNLISTEN")
	f("PREPARE p AS DELETE FROM t", "DELETE,OTHER", "PREPARE")
	f("EXECUTE p", "OTHER", "EXECUTE")
	f("DEALLOCATE ALL", "OTHER", "DEALLOCATE")
	f("DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t", "SELECT,OTHER", "DECLARE CURSOR")
	f("FETCH 10 FROM c", "OTHER", "FETCH")
	f("MOVE c", "OTHER", "MOVE")
	f("CLOSE c", "OTHER", "CLOSE CURSOR")
	f("BEGIN", "OTHER", "BEGIN")
	f("START TRANSACTION READ WRITE", "OTHER", "START TRANSACTION")
	f("COMMIT", "OTHER", "COMMIT")
	f("ROLLBACK", "OTHER", "ROLLBACK")
	f("SAVEPOINT s", "OTHER", "SAVEPOINT")
	f("CALL p(1)", "OTHER", "CALL")
	f("CALL p(set_config('a', 'b', false))", "OTHER", "CALL", "set_config")
	f("VACUUM t", "OTHER", "VACUUM")
	f("ANALYZE t", "OTHER", "ANALYZE")
	f("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "OTHER", "LOCK TABLE")
	f("DISCARD ALL", "OTHER", "DISCARD")
	f("CHECKPOINT", "OTHER", "CHECKPOINT")
	f("LOAD 'auto_explain'", "OTHER", "LOAD")
	f("REASSIGN OWNED BY a TO b", "OTHER", "REASSIGN OWNED")

	// Writing pg_settings is set_config in table form.
	f("UPDATE pg_settings SET setting = 'off' WHERE name = 'default_transaction_read_only'", "UPDATE,OTHER", "UPDATE")
	f("UPDATE pg_catalog.pg_settings AS s SET setting = 'x'", "UPDATE,OTHER", "UPDATE")
	f("WITH u AS (UPDATE PG_SETTINGS SET setting = 'x' RETURNING 1) SELECT 1", "SELECT,UPDATE,OTHER", "SELECT")
	f("SELECT * FROM pg_settings WHERE name = 'work_mem'", "SELECT", "SELECT")

	// Restricted functions, however spelled and wherever called.
	f("SELECT set_config('work_mem', '1GB', false)", "SELECT", "SELECT", "set_config")
	f(`SELECT U&"set_config"('work_mem','1GB',false)`, "SELECT", "SELECT", "set_config")
	f(`SELECT U&"\0073et_config"('work_mem','1GB',false)`, "SELECT", "SELECT", "set_config")
	f(`SELECT U&"!0073et_config" UESCAPE '!'('work_mem','1GB',false)`, "SELECT", "SELECT", "set_config")
	f("SELECT --\r set_config('work_mem', '1GB', false)", "SELECT", "SELECT", "set_config")
	f("SELECT /* set_config */ set_config/**/('a', 'b', false)", "SELECT", "SELECT", "set_config")
	f(`select "set_config"('work_mem','1GB',false)`, "SELECT", "SELECT", "set_config")
	f("SELECT pg_catalog.set_config('default_transaction_read_only', 'off', false)", "SELECT", "SELECT", "pg_catalog.set_config")
	f("SELECT myschema.set_config('a', 'b', false)", "SELECT", "SELECT", "myschema.set_config")
	f("SELECT SET_CONFIG('a', 'b', false), Set_Config('a', 'b', false)", "SELECT", "SELECT", "set_config")
	f(`SELECT "SET_CONFIG"('a', 'b', false)`, "SELECT", "SELECT", "SET_CONFIG")
	f("SELECT * FROM (SELECT set_config('a', 'b', false)) s", "SELECT", "SELECT", "set_config")
	f("WITH c AS (SELECT set_config('a', 'b', false)) SELECT * FROM c", "SELECT", "SELECT", "set_config")
	f("SELECT * FROM set_config('a', 'b', false)", "SELECT", "SELECT", "set_config")
	f("SELECT * FROM ROWS FROM (generate_series(1, 2), set_config('a', 'b', false)) r", "SELECT", "SELECT", "set_config")
	f("SELECT * FROM t, LATERAL (SELECT pg_advisory_lock(t.id)) l", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT query_to_xml('select set_config(''a'', ''b'', false)', true, true, '')", "SELECT", "SELECT", "query_to_xml")
	f("SELECT pg_advisory_lock(42)", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT count(pg_advisory_lock(g)) FROM generate_series(1,40000) g", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT pg_try_advisory_xact_lock_shared(1, 2), pg_advisory_unlock_all()", "SELECT", "SELECT", "pg_try_advisory_xact_lock_shared", "pg_advisory_unlock_all")
	f("SELECT lo_from_bytea(0, '\\x00'), lo_create(0), lo_put(1, 0, 'x'), lo_unlink(1), loread(0, 10)", "SELECT", "SELECT",
		"lo_from_bytea", "lo_create", "lo_put", "lo_unlink", "loread")
	f("SELECT pg_notify('pgfast_invalidate', '*')", "SELECT", "SELECT", "pg_notify")
	f("SELECT nextval('s'), setval('s', 1), currval('s')", "SELECT", "SELECT", "nextval", "setval")
	f("SELECT pg_read_file('/etc/passwd'), pg_ls_dir('.'), pg_stat_file('x')", "SELECT", "SELECT", "pg_read_file", "pg_ls_dir", "pg_stat_file")
	f("SELECT pg_terminate_backend(1), pg_cancel_backend(1), pg_reload_conf()", "SELECT", "SELECT", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf")
	f("SELECT dblink_exec('x', 'delete from t'), ts_stat('select 1'), pg_stat_reset()", "SELECT", "SELECT", "dblink_exec", "ts_stat", "pg_stat_reset")
	f("SELECT setseed(0.5)", "SELECT", "SELECT", "setseed")
	f("SELECT 1 UNION SELECT set_config('a', 'b', false)", "SELECT", "SELECT", "set_config")
	f("SELECT 1 INTERSECT SELECT 1 EXCEPT SELECT pg_notify('a', 'b')", "SELECT", "SELECT", "pg_notify")
	f("SELECT * FROM t WHERE pg_advisory_lock(id) IS NOT NULL", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT * FROM t ORDER BY pg_advisory_lock(id)", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT id FROM t GROUP BY id HAVING pg_advisory_lock(id) IS NULL", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT * FROM t LIMIT length(set_config('a', 'b', false)) OFFSET lo_unlink(1)", "SELECT", "SELECT", "lo_unlink", "set_config") // OFFSET comes first in the tree
	f("VALUES (pg_notify('a', 'b'))", "SELECT", "SELECT", "pg_notify")
	f("SELECT count(*) FILTER (WHERE pg_advisory_lock(1) IS NULL) FROM t", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT sum(id) OVER (ORDER BY set_config('a', 'b', false)) FROM t", "SELECT", "SELECT", "set_config")
	f("SELECT COALESCE(NULL, set_config('a', 'b', false)), ARRAY[lo_unlink(1)], ROW(pg_notify('a', 'b'))", "SELECT", "SELECT", "set_config", "lo_unlink", "pg_notify")
	f("SELECT CASE WHEN true THEN pg_advisory_lock(1) END", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT 1 WHERE EXISTS (SELECT pg_advisory_lock(1))", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT * FROM XMLTABLE('/a' PASSING xmlparse(document pg_read_file('x')) COLUMNS a int)", "SELECT", "SELECT", "pg_read_file")
	f("SELECT * FROM JSON_TABLE(pg_read_file('x')::jsonb, '$' COLUMNS (a int))", "SELECT", "SELECT", "pg_read_file")
	f("INSERT INTO t VALUES (1) RETURNING pg_notify('a', 'b')", "INSERT", "INSERT", "pg_notify")
	f("INSERT INTO t (id) SELECT lo_create(0)", "SELECT,INSERT", "INSERT", "lo_create")
	f("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = set_config('a', 'b', false)", "INSERT,UPDATE", "INSERT", "set_config")
	f("UPDATE t SET v = set_config('a', 'b', false)", "UPDATE", "UPDATE", "set_config")
	f("DELETE FROM t WHERE id = pg_advisory_lock(1)::text::int", "DELETE", "DELETE", "pg_advisory_lock")
	f("SELECT pg_advisory_lock(1), pg_catalog.pg_advisory_lock(2), pg_advisory_lock(3)", "SELECT", "SELECT", "pg_advisory_lock", "pg_catalog.pg_advisory_lock")
	f("SELECT DISTINCT ON (pg_advisory_lock(1)) id FROM t", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT n FROM t GROUP BY GROUPING SETS ((n), (pg_advisory_lock(2)))", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT * FROM t TABLESAMPLE BERNOULLI (50) REPEATABLE (pg_advisory_lock(3))", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT * FROM t FETCH FIRST (pg_advisory_lock(4)::text::int) ROWS ONLY", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT id FROM t WINDOW w AS (ORDER BY pg_advisory_lock(5))", "SELECT", "SELECT", "pg_advisory_lock")
	f("INSERT INTO t VALUES (1) ON CONFLICT (id) WHERE pg_advisory_lock(6) IS NULL DO NOTHING", "INSERT", "INSERT", "pg_advisory_lock")
	f("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND pg_advisory_lock(7) IS NULL THEN DELETE", "DELETE", "MERGE", "pg_advisory_lock")
	f("SELECT * FROM JSON_TABLE('[1]'::jsonb, '$[*]' COLUMNS (a int PATH '$' DEFAULT pg_advisory_lock(8)::text::int ON EMPTY))", "SELECT", "SELECT", "pg_advisory_lock")
	f("DELETE FROM t USING (SELECT lo_unlink(9)) s", "SELECT,DELETE", "DELETE", "lo_unlink")
	f("SELECT x FROM t WHERE x = ANY (SELECT pg_notify('a', 'b'))", "SELECT", "SELECT", "pg_notify")
	// Functional notation: f(x) spelled x.f.
	f("SELECT pg_catalog.pg_advisory_lock FROM t", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT x.pg_advisory_lock FROM (SELECT 42::bigint AS x) s", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT (ROW(42)).pg_advisory_lock", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT (42::bigint).pg_advisory_lock", "SELECT", "SELECT", "pg_advisory_lock")
	f("SELECT (id).pg_try_advisory_lock FROM t", "SELECT", "SELECT", "pg_try_advisory_lock")
	f("SELECT t.id.pg_advisory_lock FROM t", "SELECT", "SELECT", "pg_advisory_lock")
	f(`SELECT ('s'::regclass)."nextval"`, "SELECT", "SELECT", "nextval")
	f("SELECT (f(x)).lo_unlink, (x).y.pg_notify FROM t", "SELECT", "SELECT", "lo_unlink", "pg_notify")
	f("SELECT t.nextval FROM t", "SELECT", "SELECT", "nextval") // a column so named is refused too
	f("SELECT a[1], (b).c, t.* FROM t", "SELECT", "SELECT")
}

func TestClassifyCountsStatements(t *testing.T) {
	f := func(sql string, want int, wantOps string) {
		t.Helper()
		st, err := Classify(sql)
		if err != nil {
			t.Fatalf("Classify(%q): %v", sql, err)
		}
		if st.Statements != want || st.Ops.String() != wantOps {
			t.Fatalf("Classify(%q): got %d statements, ops %s; want %d, %s", sql, st.Statements, st.Ops, want, wantOps)
		}
		checkAgainstOracle(t, sql)
	}
	f("SELECT 1; SELECT 2", 2, "SELECT")
	f("SELECT 1; DELETE FROM t", 2, "SELECT") // the caller refuses it for its count
	f("DELETE FROM t; SELECT 1", 2, "DELETE")
	f("select 1;;", 1, "SELECT")
	f("SELECT ';'", 1, "SELECT")
	f(`SELECT 1 AS ";"`, 1, "SELECT")
	f("SELECT $$;$$, $tag$ ; $$ ; $tag$", 1, "SELECT")
	f(`SELECT E'\';DELETE FROM t'`, 1, "SELECT")
	f("SELECT 1 /* ; /* nested ; */ ; */", 1, "SELECT")
	f("", 0, "")
	f("  ;  ; ", 0, "")
	f(" -- only a comment", 0, "")
	f("/* only */ /* comments */", 0, "")
}

func TestClassifySyntaxErrors(t *testing.T) {
	f := func(sql, wantMessage string, wantPos int) {
		t.Helper()
		st, err := Classify(sql)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Classify(%q): got %+v, %v; want a *SyntaxError", sql, st, err)
		}
		if !strings.Contains(se.Message, wantMessage) || se.Position != wantPos {
			t.Fatalf("Classify(%q): got %q at %d; want %q at %d", sql, se.Message, se.Position, wantMessage, wantPos)
		}
		if !strings.HasPrefix(err.Error(), "sqlclass: ") {
			t.Fatalf("Classify(%q): error %q lacks the package prefix", sql, err)
		}
	}
	f("SELEC 1", `syntax error at or near "SELEC"`, 1)
	f("SELECT 'é', x y z", `syntax error at or near "z"`, utf8.RuneCountInString("SELECT 'é', x y z")) // characters, not bytes
	f("SELECT 1 +", "syntax error at end of input", 11)
	f("SELECT 'unterminated", "unterminated quoted string", 8)
	f(`SELECT "unterminated`, "unterminated quoted identifier", 8)
	f("SELECT /* unterminated", "unterminated /* comment", 8)
	f("SELECT 1; SELEC 2", `syntax error at or near "SELEC"`, 11)
	f("SELECT 1\x00; DELETE FROM t", "NUL byte", 9)
	f("SELECT 'é\x00'", "NUL byte", 10)
	f("SELECT 123abc", "trailing junk", 8)
	f("SELECT 'é\xff'", `invalid byte sequence for encoding "UTF8": 0xff`, 10)
	f(`SELECT U&"\zzzz"`, "invalid Unicode escape", 11)
}

func TestParseOp(t *testing.T) {
	for _, op := range []Op{OpSelect, OpInsert, OpUpdate, OpDelete, OpDDL} {
		for _, s := range []string{op.String(), strings.ToLower(op.String()), strings.ToUpper(op.String()[:1]) + strings.ToLower(op.String()[1:])} {
			got, err := ParseOp(s)
			if err != nil || got != op {
				t.Fatalf("ParseOp(%q): got %v, %v; want %v", s, got, err, op)
			}
		}
	}
	for _, s := range []string{"ALL", "OTHER", "", "SELECT ", "select*", "TRUNCATE"} {
		if op, err := ParseOp(s); err == nil {
			t.Fatalf("ParseOp(%q): got %v; want an error", s, op)
		}
	}
}

func TestOpSet(t *testing.T) {
	var s OpSet
	if s.Has(OpSelect) || len(s.Ops()) != 0 || s.String() != "" {
		t.Fatalf("empty set: got %v %q", s.Ops(), s)
	}
	s = s.With(OpDDL).With(OpSelect).With(OpOther)
	if got := s.Ops(); !slices.Equal(got, []Op{OpSelect, OpDDL, OpOther}) {
		t.Fatalf("Ops: got %v; want [SELECT DDL OTHER]", got)
	}
	if !s.Has(OpDDL) || s.Has(OpInsert) || s.Has(0) || s.Has(200) {
		t.Fatalf("Has: wrong answers for %v", s)
	}
	if s.String() != "SELECT,DDL,OTHER" {
		t.Fatalf("String: got %q", s.String())
	}
	if got := Op(0).String(); got != "Op(0)" {
		t.Fatalf("Op(0).String(): got %q", got)
	}
}

// TestEveryStatementTypeIsListed keeps stmtKinds complete: a statement
// type added to pg_query is classified OpOther until someone decides
// better, and this test asks for that decision.
func TestEveryStatementTypeIsListed(t *testing.T) {
	fd := (&pg_query.Node{}).ProtoReflect().Descriptor().ParentFile()
	msgs := fd.Messages()
	n := 0
	for i := 0; i < msgs.Len(); i++ {
		name := string(msgs.Get(i).Name())
		if !strings.HasSuffix(name, "Stmt") || name == "RawStmt" {
			continue
		}
		n++
		_, listed := stmtKinds[name]
		_, visited := visitedStmts[name]
		if listed == visited {
			t.Errorf("statement type %s: in stmtKinds %v, in visitedStmts %v; want exactly one", name, listed, visited)
		}
	}
	if n < 100 {
		t.Fatalf("found only %d statement types in pg_query.proto", n)
	}
	for name := range stmtKinds {
		if _, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName("pg_query." + name)); err != nil {
			t.Errorf("stmtKinds lists %s, which pg_query does not have", name)
		}
	}
}

// TestSharedResult: a second call returns the very same result.
func TestSharedResult(t *testing.T) {
	a, _ := Classify("SELECT 'shared'")
	b, _ := Classify("SELECT 'shared'")
	if a != b {
		t.Fatal("a repeated text was classified again")
	}
	_, e1 := Classify("SELEC 'shared'")
	_, e2 := Classify("SELEC 'shared'")
	if e1 == nil || e1 != e2 {
		t.Fatalf("a repeated syntax error was not cached: %v, %v", e1, e2)
	}
}
