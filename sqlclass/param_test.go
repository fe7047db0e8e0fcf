package sqlclass

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

func TestReplaceParam(t *testing.T) {
	for _, c := range []struct{ sql, want, err string }{
		{"SELECT a FROM t WHERE id = $1", "SELECT a FROM t WHERE id = k.v", ""},
		{"SELECT a FROM t WHERE id = $1::int OR parent = $1;", "SELECT a FROM t WHERE id = k.v::int OR parent = k.v", ""},
		{"SELECT '$1', \"$1\", $$ $1 $$ FROM t WHERE id = $1 -- $1\n", "SELECT '$1', \"$1\", $$ $1 $$ FROM t WHERE id = k.v -- $1\n", ""},
		{"SELECT a FROM t WHERE id = $1 ; -- done", "SELECT a FROM t WHERE id = k.v ", ""},
		{"SELECT a FROM t WHERE id = $1 /* ; */", "SELECT a FROM t WHERE id = k.v /* ; */", ""},
		{"SELECT a FROM t WHERE id = $2", "", "sqlclass: the statement references $2 besides $1"},
		{"SELECT a FROM t WHERE id = $1 AND b = $2", "", "sqlclass: the statement references $2 besides $1"},
		{"SELECT 1", "", "sqlclass: the statement does not reference $1"},
		{"SELECT a FROM t WHERE id = $1 FOR UPDATE", "", "sqlclass: not exactly one plain SELECT"},
		{"INSERT INTO t VALUES ($1) RETURNING id", "", "sqlclass: not exactly one plain SELECT"},
		{"WITH d AS (DELETE FROM t WHERE id = $1 RETURNING *) SELECT * FROM d", "", "sqlclass: not exactly one plain SELECT"},
		{"SELECT set_config('x', $1, false)", "", "sqlclass: not exactly one plain SELECT"},
		{"SELECT a FROM t WHERE id = $1; SELECT 2", "", "sqlclass: not exactly one plain SELECT"},
		{"SELECT A $1", "", "sqlclass: the statement does not parse with k.v for $1"},
		{"SELECT int4 $1 FROM t", "", "sqlclass: the statement does not parse with k.v for $1"},
		{"SELECT FROM WHERE (", "", `sqlclass: syntax error at or near "WHERE" (at character 13)`},
	} {
		got, err := ReplaceParam(c.sql, 1, "k.v")
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != c.want || gotErr != c.err {
			t.Errorf("ReplaceParam(%q) = %q, %q; want %q, %q", c.sql, got, gotErr, c.want, c.err)
		}
	}
}

// FuzzReplaceParam checks ReplaceParam's promise on arbitrary text: what
// it returns references no parameter and embeds as a subquery that
// PostgreSQL's grammar takes as one plain SELECT.
func FuzzReplaceParam(f *testing.F) {
	f.Fuzz(func(t *testing.T, sql string) {
		out, err := ReplaceParam(sql, 1, "k.v")
		if err != nil {
			return
		}
		wrapped := "SELECT * FROM k CROSS JOIN LATERAL (SELECT * FROM (\n" + out + "\n) q LIMIT 1) r"
		st, err := Classify(wrapped)
		if err != nil || st.Statements != 1 || st.Command != "SELECT" {
			t.Fatalf("%q became %q, which does not embed: %v", sql, out, err)
		}
		scan, err := pg_query.Scan(out)
		if err != nil {
			t.Fatalf("%q became %q, which does not scan: %v", sql, out, err)
		}
		for _, tok := range scan.Tokens {
			if tok.Token == pg_query.Token_PARAM {
				t.Fatalf("%q became %q, which still references %s", sql, out, out[tok.Start:tok.End])
			}
		}
	})
}
