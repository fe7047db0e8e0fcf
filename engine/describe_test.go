package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestDescribeModeLeavesNoNamedStatements is statement_cache: describe,
// for PgBouncer in transaction mode: routes, queries and batches work, and
// no named prepared statement is left on the server connection. The same
// traffic in prepare mode is the control.
func TestDescribeModeLeavesNoNamedStatements(t *testing.T) {
	for _, mode := range []string{"describe", "prepare"} {
		t.Run(mode, func(t *testing.T) {
			ts := startServer(t, parseConfig(t, fmt.Sprintf(`
databases: {main: {url: postgres://placeholder, max_conns: 1, statement_cache: %s}}
accounts:
  - {id: a, api_token: tok, allowed_operations: [SELECT], max_connections: 1}
routes:
  - name: item
    path: /items/{id}
    sql: SELECT id, name FROM items WHERE id = $1
    params: [path.id]
  - name: tuned
    path: /tuned/{id}
    sql: SELECT id, current_setting('work_mem') AS wm FROM items WHERE id = $1
    params: [path.id]
    settings: {work_mem: 5MB}
  - name: prepared
    path: /prepared
    sql: SELECT count(*) FROM pg_prepared_statements
    result: value
`, mode)), pgtest.NewDatabase(t, querySchema))
			get(t, ts.url+"/items/1").expect(t, 200, `"name":"one"`)
			get(t, ts.url+"/tuned/2").expect(t, 200, `"wm":"5MB"`)
			q := func(body string) response {
				return do(t, "POST", ts.url+"/v1/query", body, "Authorization", "Bearer tok")
			}
			q(`{"query":"SELECT name FROM items WHERE id = $1","params":[3]}`).expect(t, 200, `"name":"three"`)
			do(t, "POST", ts.url+"/v1/batch", `{"queries":[{"query":"SELECT 1 AS a"},{"query":"SELECT $1::int AS b","params":[2]}]}`,
				"Authorization", "Bearer tok").expect(t, 200, `"rows":[{"a":1}]`, `"rows":[{"b":2}]`)
			routeCount := get(t, ts.url+"/prepared").body
			apiCount := q(`{"query":"SELECT count(*) AS n FROM pg_prepared_statements"}`).body
			if mode == "describe" {
				if routeCount != "0" || !strings.Contains(apiCount, `"rows":[{"n":0}]`) {
					t.Fatalf("describe mode left prepared statements: routes %s, query API %s", routeCount, clip(apiCount))
				}
				return
			}
			if routeCount == "0" {
				t.Fatal("prepare mode shows no prepared statements: the check would prove nothing")
			}
		})
	}
}
