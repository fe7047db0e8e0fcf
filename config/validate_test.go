package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateErrors(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		c, err := Parse([]byte(src), "yaml")
		if c != nil {
			t.Fatalf("%q: got a config with the error", src)
		}
		wantErrs(t, src, err, want...)
	}
	// server
	f("server: {addr: localhost}", `config: server.addr: must be host:port such as ":8580", got "localhost" (line 1)`)
	f("server: {addr: ':99999'}", `config: server.addr: must be host:port such as ":8580", got ":99999" (line 1)`)
	f("server: {admin_addr: '127.0.0.1:8580'}", `config: server.admin_addr: must differ from server.addr, got "127.0.0.1:8580" and "127.0.0.1:8580" (line 1)`)
	f("server: {admin_addr: ':9000', addr: '127.0.0.1:9000'}", `config: server.admin_addr: must differ from server.addr, got ":9000" and "127.0.0.1:9000" (line 1)`)
	f("server: {shutdown_timeout: 0}", `config: server.shutdown_timeout: must be > 0, got 0s (line 1)`)
	f("server: {max_body_bytes: 0}", `config: server.max_body_bytes: must be > 0, got 0B (line 1)`)
	f("server: {max_header_bytes: 512}", `config: server.max_header_bytes: must be at least 1KiB, got 512B (line 1)`)
	f("server: {max_conns: 0}", `config: server.max_conns: must be > 0, got 0 (line 1)`)
	f("server: {cors: {allowed_origins: ['*'], allow_credentials: true}}",
		`config: server.cors.allowed_origins[0]: "*" cannot be combined with allow_credentials: true (browsers refuse it); list the origins (line 1)`)
	f("server: {cors: {allowed_origins: [example.com, 'https://a.example/path']}}",
		`config: server.cors.allowed_origins[0]: must be "*" or scheme://host[:port], got "example.com" (line 1)`,
		`config: server.cors.allowed_origins[1]: must be "*" or scheme://host[:port], got "https://a.example/path" (line 1)`)
	f("server: {cors: {allowed_methods: ['GE T'], allowed_headers: ['X:Y']}}",
		`config: server.cors.allowed_methods[0]: must be an HTTP method, got "GE T" (line 1)`,
		`config: server.cors.allowed_headers[0]: must be a header name, got "X:Y" (line 1)`)
	f("server: {compression: {gzip_level: 0, brotli_level: 12}}",
		`config: server.compression.gzip_level: must be 1 to 9 (0 would store, not compress; set enabled: false to turn compression off), got 0 (line 1)`,
		`config: server.compression.brotli_level: must be 0 to 11, got 12 (line 1)`)
	f("server:\n  tls: {cert_file: a.pem}\n", `config: server.tls: set both cert_file and key_file, or neither (line 2)`)

	// databases
	f("databases:\n  main:\n    url: postgres://u:secretpw@h/db\n    max_conns: -3\n",
		`config: databases.main.max_conns: must be > 0, got -3 (line 4)`)
	f("databases:\n  main: {url: 'postgres://h/db', max_conns: 5, min_conns: 6, max_concurrent_queries: -1}\n",
		`config: databases.main.min_conns: must be 0 to max_conns (5), got 6 (line 2)`,
		`config: databases.main.max_concurrent_queries: must be >= 0 (0 means max_conns), got -1 (line 2)`)
	f("databases:\n  main: {url: 'postgres://h/db', coalesce_runs: -1}\n",
		`config: databases.main.coalesce_runs: must be >= 0 (0 means no bound), got -1 (line 2)`)
	f("databases:\n  main: {url: 'postgres://h/db', max_conns: 5, max_concurrent_queries: 6, acquire_timeout: 0}\n",
		`config: databases.main.max_concurrent_queries: must not exceed max_conns (5) when acquire_timeout is 0, got 6 (line 2)`)
	f("databases:\n  main:\n    url: mysql://u:secretpw@h/db\n",
		`config: databases.main.url: must be a postgres:// or postgresql:// URL or a key=value DSN (value hidden: it may hold a password) (line 3)`)
	f("databases:\n  main: {url: 'postgres://h/db'}\n  replica: {max_conns: 3}\n",
		`config: databases.replica.url: required (only main may leave it empty, for the embedded PostgreSQL) (line 3)`)
	f("databases:\n  main: {statement_cache: always}\n",
		`config: databases.main.statement_cache: must be one of prepare, describe; got "always" (line 2)`)
	f("databases:\n  main: {settings: {'work mem': 1}}\n", `config: databases.main.settings["work mem"]: not a setting name (line 2)`)
	f("databases:\n  my.db: {url: 'host=h'}\n", `config: databases["my.db"]: names may hold letters, digits, _ and - only (line 2)`)
	f("databases:\n  'account:x': {url: 'host=h'}\n", `config: databases["account:x"]: the "account:" prefix is reserved for accounts' database_url (line 2)`)

	// accounts
	f("accounts:\n  - {name: a, api_token: t1}\n", `config: accounts[0].id: required (line 2)`)
	f("accounts:\n  - {id: a, api_token: t1}\n  - {id: a, api_token: t2}\n", `config: accounts[1].id: duplicate account id "a" (also accounts[0]) (line 3)`)
	f("accounts:\n  - {id: 'a b', api_token: t1}\n", `config: accounts[0].id: may hold letters, digits, _, . and - only, got "a b" (line 2)`)
	f("accounts:\n  - {id: a}\n", `config: accounts[0]: set api_token or api_token_sha256 (line 2)`)
	f("accounts:\n  - {id: a, api_token: sk_one, api_token_sha256: "+strings.Repeat("a", 64)+"}\n",
		`config: accounts[0]: set only one of api_token and api_token_sha256 (line 2)`)
	f("accounts:\n  - {id: a, api_token_sha256: abc}\n", `config: accounts[0].api_token_sha256: must be 64 hex characters (a SHA-256), got 3 characters (line 2)`)
	f("accounts:\n  - {id: a, api_token_sha256: "+strings.Repeat("g", 64)+"}\n",
		`config: accounts[0].api_token_sha256: must be 64 hex characters (a SHA-256), got 64 characters (line 2)`)
	// sha256("sk_live_hashed_example_token"), written in upper case, equals the other's plain token.
	f("accounts:\n  - {id: a, api_token: sk_live_hashed_example_token}\n  - {id: b, api_token_sha256: 66F6A80DE4CBDA8701C5B4730CDB7A386E0D808CE5D780118E94042D4C0F7BF6}\n",
		`config: accounts[1]: same API token as accounts[0] (line 3)`)
	f("accounts:\n  - {id: a, api_token: t, database: replica}\n", `config: accounts[0].database: no database named "replica" (databases: main) (line 2)`)
	f("accounts:\n  - {id: a, api_token: t, database: main, database_url: 'postgres://h/db'}\n",
		`config: accounts[0].database_url: set only one of database and database_url (line 2)`)
	f("accounts:\n  - {id: a, api_token: t, database_url: 'http://h/db'}\n",
		`config: accounts[0].database_url: must be a postgres:// or postgresql:// URL or a key=value DSN (value hidden: it may hold a password) (line 2)`)
	f("accounts:\n  - {id: a, api_token: t, max_connections: 0, max_rows: -1, allowed_operations: [select, drop]}\n",
		`config: accounts[0].max_connections: must be > 0, got 0 (line 2)`,
		`config: accounts[0].allowed_operations[1]: must be one of SELECT, INSERT, UPDATE, DELETE, DDL, ALL; got "DROP" (line 2)`,
		`config: accounts[0].max_rows: must be >= 0 (0 means unlimited), got -1 (line 2)`)
	f("accounts:\n  - {id: a, api_token: t, allowed_operations: []}\n", `config: accounts[0].allowed_operations: must not be empty (default [SELECT]) (line 2)`)
	f("accounts:\n  - {id: a, api_token: t, rate_limit: {rate: 5/s, burst: -1}}\n", `config: accounts[0].rate_limit.burst: must be >= 0 (0 means the rate's N), got -1 (line 2)`)

	// routes
	const r = "routes:\n  - {name: a, path: /a, sql: x"
	f("routes:\n  - {name: a, path: /a, sql: x}\n  - {name: a, path: /b, sql: x}\n", `config: routes[1].name: duplicate route name "a" (also routes[0]) (line 3)`)
	f("routes:\n  - {path: /a, sql: x}\n", `config: routes[0].name: required (line 2)`)
	f("routes:\n  - {name: Customer, path: /a, sql: x}\n", `config: routes[0].name: may hold a-z, 0-9, _ and - only, got "Customer" (line 2)`)
	f(r+", method: FETCH}\n", `config: routes[0].method: must be one of GET, POST, PUT, PATCH, DELETE; got "FETCH" (line 2)`)
	f(r+", result: all}\n", `config: routes[0].result: must be one of one, many, value; got "all" (line 2)`)
	f(r+", auth: basic}\n", `config: routes[0].auth: must be one of none, token, jwt; got "basic" (line 2)`)
	f(r+", auth: jwt}\n", `config: routes[0].auth: jwt needs auth.jwt (a secret, public_keys or jwks_url) (line 2)`)
	f(r+", auth: token}\n", `config: routes[0].auth: token needs at least one account (line 2)`)
	f("routes:\n  - {name: a, sql: x}\n", `config: routes[0].path: must start with /, got "" (line 2)`)
	f("routes:\n  - {name: a, path: /ping, sql: x}\n", `config: routes[0].path: /ping is served by pgfast itself (line 2)`)
	f("routes:\n  - {name: a, path: '/a//b', sql: x}\n", `config: routes[0].path: has an empty segment: "/a//b" (line 2)`)
	f("routes:\n  - {name: a, path: '/a/{id}/{id}', sql: x, params: [path.id]}\n", `config: routes[0].path: param {id} appears twice in "/a/{id}/{id}" (line 2)`)
	f("routes:\n  - {name: a, path: '/a/{1d}', sql: x}\n", `config: routes[0].path: param segment "{1d}": want {name} with letters, digits and _ (line 2)`)
	f("routes:\n  - {name: a, path: '/a/x{id}', sql: x}\n", `config: routes[0].path: segment "x{id}": a param is a whole segment such as {id}, and ?, #, % and spaces are not allowed (line 2)`)
	f("routes:\n  - {name: a, path: '/c/{id}', sql: x, params: [path.id]}\n  - {name: b, path: '/c/{key}', sql: x, params: [path.key]}\n",
		`config: routes[1].path: GET /c/{key} is also routes[0] (a) (line 3)`)
	f("routes:\n  - {name: a, path: '/c/{id}', sql: x}\n", `config: routes[0].path: {id} is not used by any param (add path.id to params) (line 2)`)
	f("routes:\n  - name: a\n    path: /customers/{id}\n    sql: x\n    params: [path.id, path.cid]\n",
		`config: routes[0].params[1]: path.cid: the path "/customers/{id}" has no {cid} segment (line 5)`)
	f(r+", params: [jwt.sub]}\n", `config: routes[0].params[0]: jwt.sub: jwt params need auth: jwt on the route (line 2)`)
	f(r+", params: ['header.X Tenant']}\n", `config: routes[0].params[0]: "header.X Tenant": not a header name (line 2)`)
	f(r+", params: [body.name]}\n", `config: routes[0].params[0]: body.name: body params need a method with a body (POST, PUT, PATCH or DELETE) (line 2)`)
	f(r+", params: [{from: query.a, default: 1, required: true}, {from: query.b, max: -1}]}\n",
		`config: routes[0].params[0]: query.a: required and default exclude each other (line 2)`,
		`config: routes[0].params[1].max: must be >= 0, got -1 (line 2)`)
	f(r+", params: [query.a], cache_key: [query.b]}\n", `config: routes[0].cache_key[0]: "query.b" is not one of the route's params (line 2)`)
	f(r+", invalidate_on: ['drop table']}\n", `config: routes[0].invalidate_on[0]: must be a table name such as customer or public.customer, got "drop table" (line 2)`)
	f(r+", settings: {'work_mem; reset all': 1}}\n", `config: routes[0].settings["work_mem; reset all"]: not a setting name (line 2)`)
	f(r+", database: replica}\n", `config: routes[0].database: no database named "replica" (databases: main) (line 2)`)
	f("databases:\n  replica: {url: 'host=r'}\n"+r+"}\n", `config: routes[0].database: no database named "main" (databases: replica) (line 4)`)
	f("routes:\n  - {name: a, path: /a}\n", `config: routes[0]: needs a backend: set one of sql, upstream, static or mock (line 2)`)
	f("routes:\n  - {name: a, path: /a, sql: '  '}\n", `config: routes[0].sql: required (line 2)`)

	// cache, limits, auth, log
	f("cache: {stream_threshold_bytes: 0}", `config: cache.stream_threshold_bytes: must be > 0, got 0B (line 1)`)
	f("cache: {max_bytes: 0}", `config: cache.max_bytes: must be > 0, got 0B; routes without a cache section are not cached (line 1)`)
	f("limits: {key: cookie}", `config: limits.key: must be one of ip, account, jwt.<claim>; got "cookie" (line 1)`)
	f("limits: {key: jwt.sub}", `config: limits.key: jwt.sub needs auth.jwt (a secret, public_keys or jwks_url) (line 1)`)
	f("limits: {key: jwt.}", `config: limits.key: jwt. needs a claim name, such as jwt.sub (line 1)`)
	f("limits: {algorithm: leaky}", `config: limits.algorithm: must be one of gcra, sliding_window; got "leaky" (line 1)`)
	f("limits: {trusted_proxies: [10.0.0.0/8, 10.0.0.0/33, proxy.local]}",
		`config: limits.trusted_proxies[1]: must be an IP or a CIDR such as 10.0.0.0/8, got "10.0.0.0/33" (line 1)`,
		`config: limits.trusted_proxies[2]: must be an IP or a CIDR such as 10.0.0.0/8, got "proxy.local" (line 1)`)
	f("limits: {redis_url: 'http://:pw@h:6379'}", `config: limits.redis_url: must be a redis:// or rediss:// URL (value hidden: it may hold a password) (line 1)`)
	f("limits: {redis_timeout: 0}", `config: limits.redis_timeout: must be > 0, got 0s (line 1)`)
	f("limits: {burst: -2}", `config: limits.burst: must be >= 0 (0 means the rate's N), got -2 (line 1)`)
	f("auth: {jwt: {algorithms: [HS512]}}", `config: auth.jwt.algorithms[0]: must be one of HS256, RS256, ES256, EdDSA; got "HS512" (line 1)`)
	f("auth: {jwt: {algorithms: [HS256, RS256]}}",
		`config: auth.jwt.algorithms[0]: HS256 needs auth.jwt.secret (line 1)`,
		`config: auth.jwt.algorithms[1]: RS256 needs auth.jwt.public_keys or auth.jwt.jwks_url (line 1)`)
	f("auth: {jwt: {secret: short-secret}}", `config: auth.jwt.secret: must be at least 32 bytes for HS256 (RFC 7518 §3.2), got 12 (line 1)`)
	f("auth: {jwt: {jwks_url: 'ftp://keys', jwks_refresh: 0}}",
		`config: auth.jwt.jwks_url: must be an http:// or https:// URL, got "ftp://keys" (line 1)`,
		`config: auth.jwt.jwks_refresh: must be > 0, got 0s (line 1)`)
	f("auth: {jwt: {secret: env:JWT_SECRET, leeway: -1s}}", `config: auth.jwt.leeway: must not be negative, got "-1s" (line 1)`)
	f("log: {level: verbose}", `config: log.level: must be one of debug, info, warn, error; got "verbose" (line 1)`)
	f("log: {format: xml}", `config: log.format: must be one of json, text; got "xml" (line 1)`)
	f("data_dir: ''", `config: data_dir: must not be empty (line 1)`)

	// All problems at once, in config order.
	f("log: {level: loud}\nserver: {max_conns: 0}\n",
		`config: server.max_conns: must be > 0, got 0 (line 2)`,
		`config: log.level: must be one of debug, info, warn, error; got "loud" (line 1)`)
}

func TestValidateNeverPrintsSecrets(t *testing.T) {
	const pw = "hunter2-very-secret"
	src := `
databases:
  main: {url: "mysql://app:` + pw + `@db/app"}
limits: {redis_url: "http://:` + pw + `@redis"}
accounts:
  - {id: a, api_token: "` + pw + `", database_url: "nope://` + pw + `"}
  - {id: b, api_token: "` + pw + `"}
`
	_, err := Parse([]byte(src), "yaml")
	if err == nil {
		t.Fatalf("got no error; want several")
	}
	if strings.Contains(err.Error(), pw) {
		t.Fatalf("an error message shows a secret:\n%v", err)
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 4 {
		t.Fatalf("got %d errors; want 4 (three urls and a shared token):\n%v", n, err)
	}
}

func TestValidateGoLiteral(t *testing.T) {
	// A Config built in Go gets no line numbers, and negative values are still caught.
	c := Default()
	c.Server.ReadTimeout = Duration(-time.Second)
	c.Cache.MaxBytes = -1
	c.Server.MemoryLimit = -1
	c.Routes = []Route{{Name: "a", Path: "/a", SQL: "SELECT 1"}}
	wantErrs(t, "literal", c.Validate(),
		`config: server.read_timeout: must not be negative, got -1s`,
		`config: server.memory_limit: must not be negative, got -1`,
		`config: cache.max_bytes: must not be negative, got -1`,
		`config: routes[0].method: an sql route needs a method (Load's default is GET)`,
		`config: routes[0].auth: must be one of none, token, jwt; got ""`,
		`config: routes[0].result: must be one of one, many, value; got ""`)
	c.Server.ReadTimeout, c.Cache.MaxBytes, c.Server.MemoryLimit = 0, MiB, 0 // cache.max_bytes 0 is refused (TestValidateErrors)
	c.withDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if r := c.Routes[0]; !slices.Equal(r.Methods, Methods{"GET"}) || r.Result != ResultOne || r.Auth != AuthNone || r.Database != MainDatabase ||
		r.Timeout.Std() != 30*time.Second || r.MaxBodyBytes != MiB {
		t.Fatalf("route defaults: got %+v", r)
	}
}

// An explicit zero survives loading and means zero: no default, and no
// sentinel for the engine to translate (pool, cache and jwtauth read these
// zeros the same way).
func TestExplicitZeros(t *testing.T) {
	src := "server: {compression: {min_bytes: 0, brotli_level: 0}}\nauth: {jwt: {secret: env:JWT_SECRET, leeway: 0}}\n"
	c, err := Parse([]byte(src), "yaml")
	if err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	if got, want := c.Server.Compression, (Compression{true, 0, 6, 0}); got != want {
		t.Fatalf("server.compression: got %+v; want %+v", got, want)
	}
	if got := c.Auth.JWT.Leeway; got != 0 {
		t.Fatalf("auth.jwt.leeway: got %s; want 0s", got)
	}
}

// server.memory_limit takes a size; 0 (the default) leaves Go's own limit.
func TestMemoryLimit(t *testing.T) {
	f := func(src string, want ByteSize) {
		t.Helper()
		c, err := Parse([]byte(src), "yaml")
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if got := c.Server.MemoryLimit; got != want {
			t.Fatalf("%q: server.memory_limit: got %s; want %s", src, got, want)
		}
	}
	f("log: {level: info}", 0)
	f("server: {memory_limit: 0}", 0)
	f("server: {memory_limit: 512MiB}", 512*MiB)
	f("server: {memory_limit: 1000000}", 1000000)
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() does not validate: %v", err)
	}
	if !c.Embedded() || len(c.Databases) != 1 {
		t.Fatalf("Default() databases: got %v; want only the embedded main", c.Databases)
	}
	db := c.Databases[MainDatabase]
	checks := []struct {
		name      string
		got, want any
	}{
		{"server.addr", c.Server.Addr, "127.0.0.1:8580"},
		{"server.stream_min_rate", c.Server.StreamMinRate, 64 * KiB},
		{"server.max_inflight_response_bytes", c.Server.MaxInflightResponseBytes, 256 * MiB},
		{"server.memory_limit", c.Server.MemoryLimit, ByteSize(0)},
		{"server.admin_addr", c.Server.AdminAddr, "127.0.0.1:8581"},
		{"server.read_timeout", c.Server.ReadTimeout.Std(), 10 * time.Second},
		{"server.write_timeout", c.Server.WriteTimeout.Std(), 10 * time.Second},
		{"server.idle_timeout", c.Server.IdleTimeout.Std(), 60 * time.Second},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout.Std(), 30 * time.Second},
		{"server.max_body_bytes", c.Server.MaxBodyBytes, MiB},
		{"server.max_header_bytes", c.Server.MaxHeaderBytes, 8 * KiB},
		{"server.max_conns", c.Server.MaxConns, 10000},
		{"server.cors.max_age", c.Server.CORS.MaxAge.Std(), 10 * time.Minute},
		{"server.compression", c.Server.Compression, Compression{true, 1024, 6, 5}},
		{"databases.main.max_conns", db.MaxConns, 20},
		{"databases.main.max_concurrent_queries", db.MaxConcurrentQueries, 20},
		{"databases.main.acquire_timeout", db.AcquireTimeout.Std(), time.Second},
		{"databases.main.statement_timeout", db.StatementTimeout.Std(), 30 * time.Second},
		{"databases.main.connect_timeout", db.ConnectTimeout.Std(), 5 * time.Second},
		{"databases.main.slow_query", db.SlowQuery.Std(), 500 * time.Millisecond},
		{"databases.main.application_name", db.ApplicationName, "pgfast"},
		{"databases.main.statement_cache", db.StatementCache, "prepare"},
		{"cache.max_bytes", c.Cache.MaxBytes, 256 * MiB},
		{"cache.stream_threshold_bytes", c.Cache.StreamThresholdBytes, MiB},
		{"limits.default", c.Limits.Default, Rate{}},
		{"limits.key", c.Limits.Key, "ip"},
		{"limits.algorithm", c.Limits.Algorithm, "gcra"},
		{"limits.redis_timeout", c.Limits.RedisTimeout.Std(), 5 * time.Millisecond},
		{"auth.jwt.jwks_refresh", c.Auth.JWT.JWKSRefresh.Std(), 5 * time.Minute},
		{"auth.jwt.leeway", c.Auth.JWT.Leeway.Std(), 30 * time.Second},
		{"auth.jwt.enabled", c.Auth.JWT.Enabled(), false},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "json"},
		{"data_dir", c.DataDir, "./.pgfast"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v; want %v", ch.name, ch.got, ch.want)
		}
	}
}
