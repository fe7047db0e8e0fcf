package sqlclass

import "testing"

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
