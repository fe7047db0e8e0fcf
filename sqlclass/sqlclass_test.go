package sqlclass

import (
	"errors"
	"testing"
)

func TestClassify(t *testing.T) {
	f := func(sql string, wantOp Op, wantStmts int) {
		t.Helper()
		st, err := Classify(sql)
		if err != nil {
			t.Fatalf("Classify(%q): %v", sql, err)
		}
		if st.Op != wantOp || st.Statements != wantStmts {
			t.Fatalf("Classify(%q): got op %v, %d statements; want %v, %d", sql, st.Op, st.Statements, wantOp, wantStmts)
		}
	}
	f("SELECT 1", OpSelect, 1)
	f("  select * from t;  ", OpSelect, 1)
	f("(SELECT 1) UNION (SELECT 2)", OpSelect, 1)
	f("VALUES (1)", OpSelect, 1)
	f("TABLE customer", OpSelect, 1)
	f("SELECT * INTO newt FROM t", OpDDL, 1)
	f("INSERT INTO t VALUES (1)", OpInsert, 1)
	f("update t set a = 1", OpUpdate, 1)
	f("DELETE FROM t", OpDelete, 1)
	f("MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE", OpUpdate, 1)
	f("CREATE TABLE x (a int)", OpDDL, 1)
	f("drop table x", OpDDL, 1)
	f("TRUNCATE t", OpDDL, 1)
	f("GRANT ALL ON t TO public", OpDDL, 1)
	f("SET default_transaction_read_only = off", OpOther, 1)
	f("COPY t FROM STDIN", OpOther, 1)
	f("BEGIN", OpOther, 1)
	f("DO $$ BEGIN DELETE FROM t; END $$", OpOther, 1)
	f("WITH x AS (SELECT 1) SELECT * FROM x", OpSelect, 1)
	f("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", OpDelete, 1)
	f("with x as (select 1), i as (insert into t values (1) returning *) select 1", OpInsert, 1)
	f("WITH x AS (SELECT * FROM t FOR UPDATE) SELECT 1", OpSelect, 1)
	f("WITH x AS (SELECT * FROM t FOR NO KEY UPDATE) SELECT 1", OpSelect, 1)
	f("EXPLAIN SELECT 1", OpSelect, 1)
	f("EXPLAIN DELETE FROM t", OpSelect, 1)
	f("EXPLAIN ANALYZE DELETE FROM t", OpDelete, 1)
	f("EXPLAIN (ANALYZE, BUFFERS) INSERT INTO t VALUES (1)", OpInsert, 1)
	// Statement counting ignores semicolons in strings, identifiers, comments, dollar quotes.
	f("SELECT ';'", OpSelect, 1)
	f(`SELECT 1 AS ";"`, OpSelect, 1)
	f("SELECT 1 -- ; DELETE FROM t\n", OpSelect, 1)
	f("SELECT /* ; /* nested ; */ ; */ 1", OpSelect, 1)
	f("SELECT $$;$$, $tag$ ; $$ ; $tag$", OpSelect, 1)
	f(`SELECT E'\';DELETE FROM t'`, OpSelect, 1)
	f("SELECT 'it''s;'", OpSelect, 1)
	f("SELECT $1::int", OpSelect, 1)
	f("SELECT 1; DELETE FROM t", OpSelect, 2)
	f("SELECT 1;;", OpSelect, 1)
	f("select 1; select 2", OpSelect, 2)
	f("SELEC 1", OpUnknown, 1)
	f("", OpUnknown, 0)
	f(" -- only a comment", OpUnknown, 0)
}

func TestSessionFunctionsNeedOther(t *testing.T) {
	for _, sql := range []string{
		"SELECT set_config('role', 'none', false)",
		"SELECT pg_catalog.set_config('default_transaction_read_only', 'off', false)",
		`SELECT "set_config"('x', 'y', true)`,
		"WITH s AS (SELECT SET_CONFIG('a','b',false)) SELECT * FROM s",
	} {
		st, err := Classify(sql)
		if err != nil {
			t.Fatal(err)
		}
		if !contains(st.Ops, OpOther) {
			t.Fatalf("%q: got ops %v; want OTHER among them", sql, st.Ops)
		}
	}
	st, _ := Classify("SELECT 'set_config(' AS s, current_setting('role')")
	if contains(st.Ops, OpOther) {
		t.Fatalf("a string mentioning set_config counted as a call: %v", st.Ops)
	}
}

func TestClassifyUnterminated(t *testing.T) {
	for _, sql := range []string{"SELECT 'abc", `SELECT "abc`, "SELECT /* x", "SELECT $$abc", "SELECT $a$ x $b$", `SELECT E'\'`} {
		if _, err := Classify(sql); !errors.Is(err, ErrUnterminated) {
			t.Fatalf("Classify(%q): got %v; want ErrUnterminated", sql, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	h1, n1 := Fingerprint("SELECT * FROM t WHERE id = 1 AND name = 'secret'")
	h2, n2 := Fingerprint("select *  from t\nwhere id=2 and name='other' -- c")
	if h1 != h2 || n1 != n2 {
		t.Fatalf("got %s %q and %s %q; want equal", h1, n1, h2, n2)
	}
	if want := "SELECT * FROM T WHERE ID = ? AND NAME = ?"; n1 != want {
		t.Fatalf("got %q; want %q", n1, want)
	}
	if h3, _ := Fingerprint("SELECT * FROM u WHERE id = 1"); h3 == h1 {
		t.Fatal("different tables share a fingerprint")
	}
}

func TestParseOp(t *testing.T) {
	for in, want := range map[string]Op{"select": OpSelect, "INSERT": OpInsert, "Update": OpUpdate, "delete": OpDelete, "ddl": OpDDL} {
		if got, err := ParseOp(in); err != nil || got != want {
			t.Fatalf("ParseOp(%q): got %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseOp("DROP"); err == nil {
		t.Fatal("ParseOp(DROP): got nil error")
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"SELECT 1", "WITH d AS (DELETE FROM t) SELECT 1", "SELECT $$;$$", "SELECT E'\\';'", "/* /* */ */", "U&'\\0041'", "$1$", "$a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := Classify(sql)
		if err != nil {
			return
		}
		// A trailing semicolon ends the last statement; it never adds one.
		st2, err := Classify(sql + "\n;")
		if err != nil || st2.Statements != st.Statements || st2.Op != st.Op {
			t.Fatalf("%q: got %+v, %v after appending ';'; want %+v", sql, st2, err, st)
		}
		if h, _ := Fingerprint(sql); h == "unparsable" {
			t.Fatalf("%q classifies but does not fingerprint", sql)
		}
	})
}
