package config

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envOf returns an Env lookup over m, so tests never read the process environment.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeFile writes a file under a test's temporary directory and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// plain returns a copy of c without the bookkeeping that differs between equal configs.
func plain(c *Config) Config {
	cp := *c
	cp.origin, cp.Source = nil, ""
	return cp
}

func TestLoadNoFile(t *testing.T) {
	c, err := Load(LoadOptions{Env: envOf(nil)})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !reflect.DeepEqual(plain(c), plain(Default())) {
		t.Fatalf("got %+v; want Default()", c)
	}
	if !c.Embedded() || c.Source != "" {
		t.Fatalf("got Embedded()=%v Source=%q; want the embedded default and no source", c.Embedded(), c.Source)
	}
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "pgfast.yaml", `
server: {addr: ":1000", admin_addr: "127.0.0.1:1001"}
databases:
  main: {url: "postgres://file/db", max_conns: 7, max_concurrent_queries: 3}
log: {level: debug}
data_dir: /var/lib/file
`)
	type want struct {
		addr, admin, url, level, dataDir string
		maxConns, gate                   int
	}
	f := func(env map[string]string, o Overrides, w want) {
		t.Helper()
		c, err := Load(LoadOptions{File: file, Env: envOf(env), Overrides: o})
		if err != nil {
			t.Fatalf("env %v flags %+v: unexpected error: %v", env, o, err)
		}
		db := c.Databases[MainDatabase]
		got := want{c.Server.Addr, c.Server.AdminAddr, db.URL.Value(), c.Log.Level, c.DataDir, db.MaxConns, db.MaxConcurrentQueries}
		if got != w {
			t.Fatalf("env %v flags %+v:\ngot  %+v\nwant %+v", env, o, got, w)
		}
	}
	fromFile := want{":1000", "127.0.0.1:1001", "postgres://file/db", "debug", "/var/lib/file", 7, 3}
	f(nil, Overrides{}, fromFile)

	pgapi := map[string]string{
		"APP__ADDR": ":2000", "APP__LOG_LEVEL": "warn", "PG__URL": "postgres://pgapi/db",
		"PG__POOL_SIZE": "30", "PG__MAX_CONNECTIONS": "25",
	}
	fromPGAPI := want{":2000", "127.0.0.1:1001", "postgres://pgapi/db", "warn", "/var/lib/file", 30, 25}
	f(pgapi, Overrides{}, fromPGAPI)

	pgfast := map[string]string{
		"PGFAST_ADDR": ":3000", "PGFAST_ADMIN_ADDR": "127.0.0.1:3001", "PGFAST_DATABASE_URL": "postgres://pgfast/db",
		"PGFAST_LOG_LEVEL": "ERROR", "PGFAST_DATA_DIR": "/var/lib/env",
	}
	both := map[string]string{}
	for k, v := range pgapi {
		both[k] = v
	}
	for k, v := range pgfast {
		both[k] = v
	}
	fromPGFAST := want{":3000", "127.0.0.1:3001", "postgres://pgfast/db", "error", "/var/lib/env", 30, 25}
	f(both, Overrides{}, fromPGFAST)

	flags := Overrides{Addr: ":4000", AdminAddr: "off", DatabaseURL: "postgres://flag/db", LogLevel: "info", DataDir: "/var/lib/flag"}
	f(both, flags, want{":4000", "", "postgres://flag/db", "info", "/var/lib/flag", 30, 25})

	// An empty variable counts as unset.
	empty := map[string]string{"PGFAST_ADDR": "", "APP__ADDR": "", "PG__POOL_SIZE": ""}
	f(empty, Overrides{}, fromFile)
}

func TestLoadEnvErrors(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "pgfast.yaml", "databases:\n  main:\n    url: env:DB_URL\nauth:\n  jwt:\n    secret: env:JWT_SECRET\n")
	f := func(opts LoadOptions, want ...string) {
		t.Helper()
		c, err := Load(opts)
		if c != nil {
			t.Fatalf("got a config with the error")
		}
		wantErrs(t, "load", err, want...)
	}
	f(LoadOptions{Env: envOf(map[string]string{"PG__POOL_SIZE": "x", "PG__MAX_CONNECTIONS": "1.5"})},
		`config: env PG__POOL_SIZE: not an integer: "x"`,
		`config: env PG__MAX_CONNECTIONS: not an integer: "1.5"`)
	f(LoadOptions{Env: envOf(map[string]string{"PGFAST_ADDR": "nope", "PG__POOL_SIZE": "-3"})},
		`config: server.addr: must be host:port such as ":8580", got "nope" (env PGFAST_ADDR)`,
		`config: databases.main.max_conns: must be > 0, got -3 (env PG__POOL_SIZE)`)
	f(LoadOptions{Env: envOf(nil), Overrides: Overrides{Addr: "nope", LogLevel: "loud"}},
		`config: server.addr: must be host:port such as ":8580", got "nope" (flag --addr)`,
		`config: log.level: must be one of debug, info, warn, error; got "loud" (flag --log-level)`)
	f(LoadOptions{File: file, Env: envOf(nil)},
		`config: databases.main.url: environment variable DB_URL is not set (`+file+`:3)`,
		`config: auth.jwt.secret: environment variable JWT_SECRET is not set (`+file+`:6)`)
	f(LoadOptions{File: file, Env: envOf(map[string]string{"DB_URL": "mysql://u:pw-from-env@h/db", "JWT_SECRET": "too-short"})},
		`config: databases.main.url: must be a postgres:// or postgresql:// URL or a key=value DSN (value hidden: it may hold a password) (`+file+`:3)`,
		`config: auth.jwt.secret: must be at least 32 bytes for HS256 (RFC 7518 §3.2), got 9 (`+file+`:6)`)
	f(LoadOptions{File: file, Dir: dir}, `config: give a config file or a config dir, not both`)
}

func TestLoadSecretsResolved(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "pgfast.yaml", "databases:\n  main:\n    url: env:DB_URL\naccounts:\n  - {id: a, api_token: env:TOKEN_A, database_url: env:A_DB}\n")
	env := map[string]string{"DB_URL": "postgres://app:pw1@h/db", "TOKEN_A": "sk_live_a", "A_DB": "host=h user=a password=pw2"}
	c, err := Load(LoadOptions{File: file, Env: envOf(env)})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if c.Databases["main"].URL.Value() != env["DB_URL"] || c.Accounts[0].APIToken.Value() != env["TOKEN_A"] {
		t.Fatalf("secrets not resolved: %q %q", c.Databases["main"].URL.Value(), c.Accounts[0].APIToken.Value())
	}
	adb := c.Databases["account:a"]
	if adb == nil || adb.URL.Value() != env["A_DB"] || adb.MaxConns != 10 || c.Accounts[0].Database != "account:a" {
		t.Fatalf("account database: got %+v, account database %q", adb, c.Accounts[0].Database)
	}
	if sum, ok := c.Accounts[0].TokenHash(); !ok || sum != sha256.Sum256([]byte("sk_live_a")) {
		t.Fatalf("TokenHash: got %x, %v", sum, ok)
	}
	if c.Source != file {
		t.Fatalf("Source: got %q; want %q", c.Source, file)
	}
}

func TestLoadFormats(t *testing.T) {
	dir := t.TempDir()
	f := func(name, content string) {
		t.Helper()
		c, err := Load(LoadOptions{File: writeFile(t, dir, name, content), Env: envOf(nil)})
		if err != nil {
			t.Fatalf("%s: unexpected error: %v", name, err)
		}
		if c.Server.Addr != ":9" || c.Log.Format != "text" {
			t.Fatalf("%s: got addr %q format %q", name, c.Server.Addr, c.Log.Format)
		}
	}
	f("a.json", `{"server": {"addr": ":9"}, "log": {"format": "text"}}`)
	f("b.yaml", "server: {addr: ':9'}\nlog: {format: text}\n")
	f("c.yml", "server:\n  addr: ':9'\nlog:\n  format: text\n")
	f("d.conf", "{\"server\": {\"addr\": \":9\"},\n\t\"log\": {\"format\": \"text\"}}")
	f("e.conf", "{server: {addr: ':9'}, log: {format: text}}")
	f("f.conf", "server:\n  addr: ':9'\nlog:\n  format: text\n")

	// A .json file must be JSON: YAML syntax is refused with JSON's message.
	_, err := Load(LoadOptions{File: writeFile(t, dir, "g.json", "server:\n  addr: ':9'\n"), Env: envOf(nil)})
	if err == nil || !strings.HasPrefix(err.Error(), "config: cannot parse JSON: invalid character 's' looking for beginning of value (") {
		t.Fatalf("got %v; want a JSON syntax error", err)
	}
	_, err = Load(LoadOptions{File: filepath.Join(dir, "missing.yaml")})
	if err == nil || !strings.HasPrefix(err.Error(), "config: cannot read config file: open ") {
		t.Fatalf("got %v; want a read error", err)
	}
	if _, err := Parse([]byte("{}"), "toml"); err == nil || err.Error() != `config: unknown format "toml" (want yaml or json)` {
		t.Fatalf("got %v; want an unknown format error", err)
	}
}

func TestLoadRelativePaths(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "pgfast.yaml", `
server: {tls: {cert_file: tls/cert.pem, key_file: /etc/pgfast/key.pem}}
auth: {jwt: {public_keys: [keys/a.pem, /abs/b.pem]}}
log: {audit: audit.log}
`)
	c, err := Load(LoadOptions{File: file, Env: envOf(nil)})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	got := []string{c.Server.TLS.CertFile, c.Server.TLS.KeyFile, c.Auth.JWT.PublicKeys[0], c.Auth.JWT.PublicKeys[1], c.Log.Audit.File}
	want := []string{filepath.Join(dir, "tls/cert.pem"), "/etc/pgfast/key.pem", filepath.Join(dir, "keys/a.pem"), "/abs/b.pem", "audit.log"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q; want %q", got, want)
	}
	if a := c.Auth.JWT.Algorithms; !reflect.DeepEqual(a, []string{AlgRS256, AlgES256, AlgEdDSA}) {
		t.Fatalf("algorithms: got %v; want the asymmetric defaults", a)
	}
}

func TestLoadPGAPIDir(t *testing.T) {
	dir := t.TempDir()
	f := func(files map[string]string, env map[string]string, check func(c *Config)) {
		t.Helper()
		d, err := os.MkdirTemp(dir, "ok")
		if err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			writeFile(t, d, name, content)
		}
		c, err := Load(LoadOptions{Dir: d, Env: envOf(env)})
		if err != nil {
			t.Fatalf("%v: unexpected error: %v", files, err)
		}
		check(c)
	}
	// Accounts as a bare list, no server.json: the embedded main database.
	f(map[string]string{"accounts.json": `[{"id": "a", "api_token": "t", "rate_limit": 50}]`}, nil, func(c *Config) {
		if len(c.Accounts) != 1 || c.Accounts[0].RateLimit.N != 50 || c.Accounts[0].RateLimit.Per != time.Second || !c.Embedded() {
			t.Fatalf("got %+v", c.Accounts)
		}
	})
	// server.json only, env over it.
	f(map[string]string{"server.json": `{"app": {"addr": ":7000"}, "pg": {"url": "postgres://h/db", "pool_size": 12}}`},
		map[string]string{"PGFAST_ADDR": ":7001"}, func(c *Config) {
			if c.Server.Addr != ":7001" || c.Databases["main"].MaxConns != 12 || c.Databases["main"].MaxConcurrentQueries != 12 {
				t.Fatalf("got addr %q main %+v", c.Server.Addr, c.Databases["main"])
			}
		})

	bad := func(files map[string]string, want ...string) {
		t.Helper()
		d, err := os.MkdirTemp(dir, "bad")
		if err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			writeFile(t, d, name, content)
		}
		for i := range want {
			want[i] = strings.ReplaceAll(want[i], "DIR", d)
		}
		_, err = Load(LoadOptions{Dir: d, Env: envOf(nil)})
		wantErrs(t, "pgapi", err, want...)
	}
	bad(nil, `config: DIR holds neither server.json nor accounts.json`)
	bad(map[string]string{"server.json": "{\n  \"pg\": {\"urll\": \"x\"}\n}"},
		`config: pg.urll: unknown key (did you mean "url"? known keys: url, max_connections, pool_size) (DIR/server.json:2)`)
	bad(map[string]string{"server.json": `{"app": {"addr": "nope"}}`},
		`config: server.addr: must be host:port such as ":8580", got "nope" (DIR/server.json:1)`)
	bad(map[string]string{"accounts.json": "{\"accounts\": [\n  {\"id\": \"a\", \"api_tokn\": \"t\"}\n]}"},
		`config: accounts[0].api_tokn: unknown key (did you mean "api_token"? known keys: id, name, api_token, api_token_sha256, database, database_url, rate_limit, max_connections, allowed_operations, role, query_timeout, max_rows) (DIR/accounts.json:2)`)
	bad(map[string]string{"accounts.json": "[\n  {\"id\": \"a\", \"api_token\": \"t\", \"rate_limit\": \"lots\"}\n]"},
		`config: accounts[0].rate_limit: cannot parse rate "lots": want N/s, N/min, N/h, a bare number (per second) or "unlimited" (DIR/accounts.json:2)`)
	bad(map[string]string{"accounts.json": `{"accounts": [], "extra": 1}`},
		`config: extra: unknown key (known keys: accounts) (DIR/accounts.json:1)`)
}
