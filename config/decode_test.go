package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// wantErrs asserts that err holds exactly the wanted messages, in order.
func wantErrs(t *testing.T, input string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%q: got no error; want %q", input, want)
	}
	var got []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			got = append(got, e.Error())
		}
	} else {
		got = []string{err.Error()}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%q:\ngot errors\n  %s\nwant\n  %s", input, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestDecodeErrors(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		c, err := Parse([]byte(src), "yaml")
		if c != nil {
			t.Fatalf("%q: got a config with the error", src)
		}
		wantErrs(t, src, err, want...)
	}
	// Unknown keys at depth 1, 2, 3, inside a route, an account, a database and a param map.
	f("servr:\n  addr: x\n",
		`config: servr: unknown key (did you mean "server"? known keys: server, databases, accounts, upstreams, routes, cache, limits, auth, log, script_limits, openapi, tracing, data_dir) (line 1)`)
	f("bogus: 1\n",
		`config: bogus: unknown key (known keys: server, databases, accounts, upstreams, routes, cache, limits, auth, log, script_limits, openapi, tracing, data_dir) (line 1)`)
	f("server:\n  adr: x\n",
		`config: server.adr: unknown key (did you mean "addr"? known keys: addr, admin_addr, read_timeout, write_timeout, idle_timeout, shutdown_timeout, max_body_bytes, max_header_bytes, max_conns, stream_min_rate, max_inflight_response_bytes, max_spill_bytes, memory_limit, cors, compression, tls) (line 2)`)
	f("server:\n  cors:\n    alowed_origins: []\n",
		`config: server.cors.alowed_origins: unknown key (did you mean "allowed_origins"? known keys: allowed_origins, allowed_methods, allowed_headers, expose_headers, allow_credentials, max_age) (line 3)`)
	f("auth:\n  jwt:\n    secrt: x\n",
		`config: auth.jwt.secrt: unknown key (did you mean "secret"? known keys: secret, algorithms, issuer, audience, jwks_url, jwks_refresh, public_keys, leeway, require) (line 3)`)
	f("routes:\n  - name: a\n    path: /a\n    sql: x\n  - name: b\n    metod: GET\n",
		`config: routes[1].metod: unknown key (did you mean "method"? known keys: name, host, method, path, sql, upstream, static, mock, params, auth, rate_limit, cache, cache_key, stale_if_error, stale_while_revalidate, max_body_bytes, response_headers, script, result, invalidate_on, timeout, settings, coalesce, database, rewrite, host_header, request_headers) (line 6)`)
	f("accounts:\n  - id: a\n    token: x\n",
		`config: accounts[0].token: unknown key (known keys: id, name, api_token, api_token_sha256, database, database_url, rate_limit, max_connections, allowed_operations, role, query_timeout, max_rows) (line 3)`)
	f("databases:\n  main:\n    max_con: 3\n",
		`config: databases.main.max_con: unknown key (did you mean "max_conns"? known keys: url, max_conns, min_conns, max_concurrent_queries, acquire_timeout, statement_timeout, connect_timeout, slow_query, idle_timeout, max_lifetime, health_check_period, application_name, statement_cache, coalesce_budget, coalesce_runs, settings) (line 3)`)
	f("routes:\n  - name: a\n    params:\n      - {from: query.a, mx: 3}\n",
		`config: routes[0].params[0].mx: unknown key (did you mean "max"? known keys: from, default, max, required) (line 4)`)
	f("routes:\n  - name: a\n    rate_limit: {rate: 1/s, burts: 3}\n",
		`config: routes[0].rate_limit.burts: unknown key (did you mean "burst"? known keys: rate, burst) (line 3)`)

	// Bad scalars.
	f("routes:\n  - name: a\n  - name: b\n    cache: 6Os\n",
		`config: routes[1].cache: cannot parse duration "6Os" (line 4)`)
	f("server:\n  read_timeout: -1s\n", `config: server.read_timeout: must not be negative, got "-1s" (line 2)`)
	f("server:\n  memory_limit: -1MiB\n", `config: server.memory_limit: must not be negative, got "-1MiB" (line 2)`)
	f("server:\n  max_body_bytes: 1MB2\n",
		`config: server.max_body_bytes: cannot parse size "1MB2": want bytes or a number with B, KB, KiB, MB, MiB, GB, GiB, TB or TiB (line 2)`)
	f("limits:\n  default: 10/fortnight\n",
		`config: limits.default: cannot parse rate "10/fortnight": want N/s, N/min, N/h, a bare number (per second) or "unlimited" (line 2)`)
	f("routes:\n  - name: a\n    params: [path.id, cookie.sid]\n",
		`config: routes[0].params[1]: unknown source "cookie" in "cookie.sid" (want path, query, header, jwt or body) (line 3)`)
	f("server:\n  max_conns: many\n", `config: server.max_conns: must be an integer, got "many" (line 2)`)
	f("server:\n  max_conns: 1.5\n", `config: server.max_conns: must be an integer, got 1.5 (line 2)`)
	f("server:\n  max_conns: 99999999999999999999\n", `config: server.max_conns: must be an integer, got 99999999999999999999 (line 2)`)
	f("upstreams:\n  u:\n    circuit_breaker: {error_ratio: [1]}\n", `config: upstreams.u.circuit_breaker.error_ratio: must be a number, got a list (line 3)`)
	f("upstreams:\n  u:\n    circuit_breaker: {error_ratio: .inf}\n", `config: upstreams.u.circuit_breaker.error_ratio: must be a number, got .inf (line 3)`)
	f("server:\n  compression:\n    enabled: maybe\n", `config: server.compression.enabled: must be true or false, got "maybe" (line 3)`)
	f("server:\n  addr: true\n", `config: server.addr: must be a string, got boolean true (quote it to keep the text) (line 2)`)
	f("server:\n  addr: [a]\n", `config: server.addr: must be a string, got a list (line 2)`)
	f("server: [1]\n", `config: server: must be a map, got a list (line 1)`)
	f("routes: {a: 1}\n", `config: routes: must be a list, got a map (line 1)`)
	f("databases: [main]\n", `config: databases: must be a map, got a list (line 1)`)
	f("- a\n", `config: must be a map, got a list (line 1)`)
	f("accounts:\n  - id: a\n    api_token: env:1X\n",
		`config: accounts[0].api_token: env: reference needs a variable name of letters, digits and _, got "1X" (line 3)`)
	f("databases:\n  main:\n    settings: {work_mem: {a: 1}}\n",
		`config: databases.main.settings.work_mem: must be a scalar value, got a map (line 3)`)

	// Structure.
	f("server:\n  addr: a\n  addr: b\n", `config: server.addr: duplicate key (line 3)`)
	f("a: 1\n---\nb: 2\n", `config: holds more than one YAML document (line 2)`)
	f("server:\n  addr: \"x\n", `config: cannot parse YAML: found unexpected end of stream (line 2)`)
	f("server:\n\taddr: x\n", `config: cannot parse YAML: found character that cannot start any token (line 2)`)
	f("server: &a {<<: *a}\n", `config: server: merge key includes the map it is in (line 1)`)

	// Several problems are all reported, in file order.
	f("servr: 1\nserver:\n  max_conns: x\nlog:\n  levle: info\n",
		`config: servr: unknown key (did you mean "server"? known keys: server, databases, accounts, upstreams, routes, cache, limits, auth, log, script_limits, openapi, tracing, data_dir) (line 1)`,
		`config: server.max_conns: must be an integer, got "x" (line 3)`,
		`config: log.levle: unknown key (did you mean "level"? known keys: level, format, access, audit, audit_params) (line 5)`)
}

func TestDecodeFieldError(t *testing.T) {
	_, err := Parse([]byte("log:\n  level: info\n  format: xml\n"), "")
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v; want a *FieldError", err)
	}
	if fe.Path != "log.format" || fe.Line != 3 || fe.Where != "line 3" || fe.Msg != `must be one of json, text; got "xml"` {
		t.Fatalf("got %+v; want log.format at line 3", *fe)
	}
}

func TestDecodeJSON(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		_, err := Parse([]byte(src), "json")
		wantErrs(t, src, err, want...)
	}
	f("{\n  \"server\": {\n    \"adr\": \":1\"\n  }\n}",
		`config: server.adr: unknown key (did you mean "addr"? known keys: addr, admin_addr, read_timeout, write_timeout, idle_timeout, shutdown_timeout, max_body_bytes, max_header_bytes, max_conns, stream_min_rate, max_inflight_response_bytes, max_spill_bytes, memory_limit, cors, compression, tls) (line 3)`)
	f("{\n  \"routes\": [\n    {\"name\": \"a\", \"cache\": \"6Os\"}\n  ]\n}",
		`config: routes[0].cache: cannot parse duration "6Os" (line 3)`)
	f("{\"server\": {\"max_conns\": \"10\"}}", `config: server.max_conns: must be an integer, got "10" (line 1)`)
	f("{\n\"server\": {\n\"addr\": \":1\",\n}\n}", `config: cannot parse JSON: invalid character '}' looking for beginning of object key string (line 4)`)
	f("{\"server\": {}} {}", `config: cannot parse JSON: unexpected data after the top-level value (line 1)`)
	f("{\"server\": ", `config: cannot parse JSON: unexpected end of input (line 1)`)
	f("{\"a\": 1, \"a\": 2}", `config: a: duplicate key (line 1)`, `config: a: unknown key (known keys: server, databases, accounts, upstreams, routes, cache, limits, auth, log, script_limits, openapi, tracing, data_dir) (line 1)`)
	f(strings.Repeat("[", 100)+strings.Repeat("]", 100), `config: cannot parse JSON: nested deeper than 64 levels (line 1)`)

	// JSON by content, with tabs (which YAML refuses), and the values YAML gives the same file.
	c, err := Parse([]byte("{\n\t\"server\": {\"addr\": \":9000\", \"read_timeout\": 2.5, \"max_body_bytes\": 2048},\n\t\"databases\": {\"main\": {\"settings\": {\"jit\": false, \"cost\": 1.10}}}\n}"), "")
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if c.Server.Addr != ":9000" || c.Server.ReadTimeout.Std() != 2500*time.Millisecond || c.Server.MaxBodyBytes != 2048 {
		t.Fatalf("got %+v; want the JSON values", c.Server)
	}
	if s := c.Databases["main"].Settings; s["jit"] != "off" || s["cost"] != "1.10" {
		t.Fatalf("got settings %v; want jit=off cost=1.10", s)
	}
}

func TestDecodeNullsKeepDefaults(t *testing.T) {
	c, err := Parse([]byte("server:\nlog:\n  audit: ~\ndatabases:\n  main:\n"), "")
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if c.Server.Addr != "127.0.0.1:8580" || c.Log.Level != "info" {
		t.Fatalf("an empty section lost its defaults: %+v", c.Server)
	}
	if db := c.Databases["main"]; db == nil || db.MaxConns != 20 || db.URL != "" || !c.Embedded() {
		t.Fatalf("main: got %+v; want the embedded default", db)
	}
}

func TestDecodeExplicitZeroKept(t *testing.T) {
	c, err := Parse([]byte(`
databases:
  main: {url: "postgres://h/db", statement_timeout: 0, slow_query: 0}
server:
  admin_addr: ""
accounts:
  - {id: a, api_token: t, max_rows: 0, query_timeout: 0}
routes:
  - {name: r, path: /r, sql: x, timeout: 0}
`), "")
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	db := c.Databases["main"]
	if db.StatementTimeout != 0 || db.SlowQuery != 0 || db.AcquireTimeout.Std() != time.Second {
		t.Fatalf("main: got %+v; want explicit zeros kept and other defaults set", db)
	}
	if c.Server.AdminAddr != "" {
		t.Fatalf("admin_addr: got %q; want it off", c.Server.AdminAddr)
	}
	if a := c.Accounts[0]; a.MaxRows != 0 || *a.QueryTimeout != 0 || a.MaxConnections != 10 {
		t.Fatalf("account: got %+v; want explicit zeros kept", a)
	}
	if *c.Routes[0].Timeout != 0 {
		t.Fatalf("route timeout: got %s; want 0", c.Routes[0].Timeout)
	}
}

func TestDecodeMergeKeys(t *testing.T) {
	c, err := Parse([]byte(`
x-cached: &cached
  cache: 60s
  result: many
  invalidate_on: [customer]
x-slow: &slow
  timeout: 5s
  cache: 1s
routes:
  - <<: [*cached, *slow]
    name: a
    path: /a
    sql: SELECT 1
  - <<: *cached
    name: b
    path: /b
    sql: SELECT 2
    result: one
`), "")
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	a, b := c.Routes[0], c.Routes[1]
	if a.Cache.Std() != time.Minute || a.Result != ResultMany || a.Timeout.Std() != 5*time.Second || len(a.InvalidateOn) != 1 {
		t.Fatalf("route a: got %+v; want the merged values, the first source winning", a)
	}
	if b.Result != ResultOne || b.Cache.Std() != time.Minute {
		t.Fatalf("route b: got %+v; want the written result to win over the merged one", b)
	}

	_, err = Parse([]byte("x-a: &a {cachee: 1s}\nroutes:\n  - <<: *a\n    name: a\n"), "")
	if err == nil || !strings.Contains(err.Error(), `config: routes[0].cachee: unknown key (did you mean "cache"?`) {
		t.Fatalf("got %v; want the merged unknown key reported under routes[0]", err)
	}
	_, err = Parse([]byte("x-a: &a [1]\nserver:\n  <<: *a\n"), "")
	if err == nil || err.Error() != `config: server: merge key needs a map or a list of maps, got 1 (line 1)` {
		t.Fatalf("got %v; want a bad merge refused", err)
	}
}

func TestDecodeAliasBomb(t *testing.T) {
	// Each map merges the previous one twice: 2^40 merges if expanded naively.
	var b strings.Builder
	b.WriteString("x-0: &m0 {cache: 1s}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "x-%d: &m%d {<<: [*m%d, *m%d]}\n", i, i, i-1, i-1)
	}
	b.WriteString("routes:\n  - <<: *m40\n    name: a\n")
	start := time.Now()
	_, err := Parse([]byte(b.String()), "yaml")
	if err == nil || !strings.Contains(err.Error(), "document expands to more than 1048576 values (too many aliases?)") {
		t.Fatalf("got %v; want the expansion bounded", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("bounded expansion took %s", d)
	}
}

func TestValidateErrorCap(t *testing.T) {
	// 30 aliased routes of 20 bad tables each: 600 problems from a few lines.
	var b strings.Builder
	b.WriteString("x-t: &t [" + strings.Repeat("'bad table', ", 19) + "'bad table']\n")
	b.WriteString("x-r: &r {name: r, path: /r, sql: x, invalidate_on: *t}\nroutes: [" + strings.Repeat("*r, ", 29) + "*r]\n")
	_, err := Parse([]byte(b.String()), "yaml")
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	if len(errs) != maxErrors+1 || errs[maxErrors].Error() != "config: too many problems; fix these first" {
		t.Fatalf("got %d errors ending in %v; want %d and a final note", len(errs), errs[len(errs)-1], maxErrors+1)
	}
}

func TestDecodeErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-bad: &bad [[1], [2], [3], [4], [5], [6], [7], [8], [9], [10]]\nroutes:\n")
	for i := range 20 {
		fmt.Fprintf(&b, "  - {name: r%d, invalidate_on: *bad}\n", i)
	}
	_, err := Parse([]byte(b.String()), "yaml")
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	if len(errs) != maxErrors+1 || errs[maxErrors].Error() != "config: too many problems; fix these first" {
		t.Fatalf("got %d errors ending in %v; want %d and a final note", len(errs), errs[len(errs)-1], maxErrors+1)
	}
}
