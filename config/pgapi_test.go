package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pg-api's files exactly as its README shows them: the flat server.json and a database_url
// account.
func TestSamplePGAPIFlat(t *testing.T) {
	dir := filepath.Join(samples, "pgapi_flat")
	c, err := Load(LoadOptions{Dir: dir, Env: envOf(map[string]string{"DATABASE_URL": "postgres://h/main"})})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	main := c.Databases[MainDatabase]
	if c.Server.Addr != "127.0.0.1:8580" || c.Log.Level != "info" || main.URL.Value() != "postgres://h/main" ||
		main.MaxConns != 100 || main.MaxConcurrentQueries != 100 || main.StatementTimeout.Std() != 30*time.Second {
		t.Fatalf("server.json: got addr %q level %q main %+v", c.Server.Addr, c.Log.Level, main)
	}
	if len(c.Accounts) != 1 {
		t.Fatalf("accounts.json: got %d accounts; want 1", len(c.Accounts))
	}
	a := c.Accounts[0]
	if a.ID != "acc_example" || a.Database != AccountDatabasePrefix+"acc_example" || a.QueryTimeout.Std() != 30*time.Second ||
		c.Databases[a.Database] == nil || c.Databases[a.Database].MaxConns != 10 {
		t.Fatalf("accounts[0]: got %+v", a)
	}
	if w := c.origin.where("databases.main.statement_timeout"); w != filepath.Join(dir, "server.json")+":1" {
		t.Fatalf("statement_timeout comes from %q; want server.json:1", w)
	}
}

func TestLoadPGAPIFlat(t *testing.T) {
	dir := t.TempDir()
	load := func(server string, env map[string]string) (*Config, string, error) {
		t.Helper()
		d, err := os.MkdirTemp(dir, "flat")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, d, "server.json", server)
		writeFile(t, d, "accounts.json", `[{"id": "a", "api_token": "t"}, {"id": "b", "api_token": "u", "query_timeout": "2s"}]`)
		c, err := Load(LoadOptions{Dir: d, Env: envOf(env)})
		return c, d, err
	}
	f := func(server string, env map[string]string, addr, url string, timeouts ...time.Duration) {
		t.Helper()
		c, _, err := load(server, env)
		if err != nil {
			t.Fatalf("%s: unexpected error: %v", server, err)
		}
		if c.Server.Addr != addr || c.Databases[MainDatabase].URL.Value() != url {
			t.Fatalf("%s: got addr %q url %q; want %q, %q", server, c.Server.Addr, c.Databases[MainDatabase].URL.Value(), addr, url)
		}
		for i, want := range timeouts {
			if got := c.Accounts[i].QueryTimeout.Std(); got != want {
				t.Fatalf("%s: accounts[%d].query_timeout: got %s; want %s", server, i, got, want)
			}
		}
	}
	// Only a port, only a host: the other half is the default's.
	f(`{"port": 9000}`, nil, "127.0.0.1:9000", "")
	f(`{"host": "0.0.0.0"}`, nil, "0.0.0.0:8580", "")
	f(`{"host": "::1", "port": 0}`, nil, "[::1]:0", "")
	// timeout_seconds is the default query_timeout of the accounts; theirs wins.
	f(`{"timeout_seconds": 7}`, nil, "127.0.0.1:8580", "", 7*time.Second, 2*time.Second)
	f(`{"timeout_seconds": 0}`, nil, "127.0.0.1:8580", "", 0, 2*time.Second)
	// DATABASE_URL is the weakest source of main's url.
	f(`{}`, map[string]string{"DATABASE_URL": "postgres://env/db"}, "127.0.0.1:8580", "postgres://env/db")
	f(`{"pg": {"url": "postgres://file/db"}}`, map[string]string{"DATABASE_URL": "postgres://env/db"}, "127.0.0.1:8580", "postgres://file/db")
	f(`{}`, map[string]string{"DATABASE_URL": "postgres://env/db", "PG__URL": "postgres://pg/db"}, "127.0.0.1:8580", "postgres://pg/db")
	// PGFAST_* and APP__* still win over the file.
	f(`{"host": "0.0.0.0", "port": 1}`, map[string]string{"APP__ADDR": ":2"}, ":2", "")

	bad := func(server string, want ...string) {
		t.Helper()
		_, d, err := load(server, nil)
		for i := range want {
			want[i] = strings.ReplaceAll(want[i], "DIR", d)
		}
		wantErrs(t, server, err, want...)
	}
	bad(`{"port": 70000}`, `config: port: must be 0-65535, got 70000 (DIR/server.json:1)`)
	bad(`{"timeout_seconds": -1}`, `config: timeout_seconds: must be >= 0 (0: no timeout), got -1 (DIR/server.json:1)`)
	bad("{\n  \"port\": 1,\n  \"app\": {\"addr\": \":1\"}\n}",
		`config: app: pg-api's flat keys (host, port, max_connections, timeout_seconds, log_level) and its app and pg sections do not mix; use one shape (DIR/server.json:3)`)
	bad(`{"max_connections": 0}`, `config: databases.main.max_conns: must be > 0, got 0 (DIR/server.json:1)`)
	bad(`{"hots": "x"}`, `config: hots: unknown key (did you mean "host"? known keys: app, pg, host, port, max_connections, timeout_seconds, log_level) (DIR/server.json:1)`)
}

func TestIsPGAPIDir(t *testing.T) {
	dir := t.TempDir()
	if IsPGAPIDir(dir) {
		t.Fatal("an empty dir: got true; want false")
	}
	if err := os.Mkdir(filepath.Join(dir, "server.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	if IsPGAPIDir(dir) {
		t.Fatal("server.json a directory: got true; want false")
	}
	d := t.TempDir()
	writeFile(t, d, "server.json", "{}")
	if !IsPGAPIDir(d) {
		t.Fatal("with server.json: got false; want true")
	}
}
