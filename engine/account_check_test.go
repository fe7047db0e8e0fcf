package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestWeakAccountRolesWarn: a read-only account gets a warning for each
// weak setup (superuser login, owner, writer, a role it cannot assume),
// in /admin/stats, /metrics and pgfast check; a SELECT-only role and an
// account that may write get none.
func TestWeakAccountRolesWarn(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "CREATE TABLE t (id int); CREATE TABLE u (id int)")
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	reader, owner, writer := "rd_"+suffix, "own_"+suffix, "wr_"+suffix
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"CREATE ROLE " + reader + " LOGIN", "GRANT SELECT ON t, u TO " + reader,
		"CREATE ROLE " + owner + " LOGIN", "ALTER TABLE u OWNER TO " + owner,
		"CREATE ROLE " + writer + " LOGIN", "GRANT SELECT, INSERT ON t TO " + writer,
	} {
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	conn.Close(context.Background())
	as := func(user string) string { return strings.Replace(dbURL, "postgres@", user+"@", 1) }
	yaml := fmt.Sprintf(`
databases:
  main: {url: %q}
accounts:
  - {id: super, api_token: tok_super, allowed_operations: [SELECT]}
  - {id: reader, api_token: tok_reader, database_url: %q, allowed_operations: [SELECT]}
  - {id: owner, api_token: tok_owner, database_url: %q, allowed_operations: [SELECT]}
  - {id: writer, api_token: tok_writer, database_url: %q, allowed_operations: [SELECT]}
  - {id: badrole, api_token: tok_bad, database_url: %q, role: no_such_role_%s, allowed_operations: [SELECT]}
  - {id: rw, api_token: tok_rw, allowed_operations: [SELECT, INSERT]}
  - {id: notimeout, api_token: tok_nt, database_url: %q, allowed_operations: [SELECT], query_timeout: 0s}
`, dbURL, as(reader), as(owner), as(writer), as(reader), suffix, as(reader))
	if !strings.Contains(dbURL, "postgres@") {
		t.Fatalf("test URL %s does not log in as postgres", dbURL)
	}
	want := map[string]string{
		"super":     "is a superuser",
		"owner":     "owns tables (public.u)",
		"writer":    "may INSERT, UPDATE, DELETE or TRUNCATE tables (public.t)",
		"badrole":   "cannot be assumed",
		"notimeout": "query_timeout is 0",
	}
	ts := startServer(t, parseConfig(t, yaml), "")
	stats := ts.e.Stats()
	for id, a := range stats.Accounts {
		got := strings.Join(a.Warnings, "; ")
		switch w, ok := want[id]; {
		case ok && !strings.Contains(got, w):
			t.Errorf("account %s: warnings %q; want one containing %q", id, got, w)
		case !ok && got != "":
			t.Errorf("account %s: warnings %q; want none", id, got)
		}
	}
	if len(stats.Accounts) != 7 {
		t.Fatalf("stats list %d accounts; want 7", len(stats.Accounts))
	}
	m := get(t, ts.admin+"/metrics")
	for _, line := range []string{`pgfast_account_warnings{account="super"} 1`, `pgfast_account_warnings{account="reader"} 0`, `pgfast_account_warnings{account="writer"} 1`} {
		if !strings.Contains(m.body, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	get(t, ts.admin+"/admin/stats").expect(t, 200, `"warnings":["effective role \"postgres\" is a superuser"]`)

	warnings, err := Check(context.Background(), parseConfig(t, yaml))
	if err != nil {
		t.Fatal(err)
	}
	weak := map[string]bool{}
	for _, w := range warnings {
		weak[strings.Fields(w)[1]] = true
	}
	if len(weak) != len(want) || !weak["owner:"] || !weak["badrole:"] {
		t.Fatalf("Check warnings:\n%s\nwant some for each of %v and none for the others", strings.Join(warnings, "\n"), want)
	}
}
