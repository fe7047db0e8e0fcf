package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// pg-api keeps its configuration in a directory: server.json holds the server's settings,
// accounts.json lists the accounts. pgfast reads both with --config-dir (or from ./config/ when
// serve is given no other config), so a pg-api deployment moves over without rewriting them.

// PGAPIDir is the directory pgfast serve and check read pg-api's files from when they are
// given no --config, --config-dir or PGFAST_CONFIG and it holds server.json: where pg-api
// itself looks for them.
const PGAPIDir = "config"

// IsPGAPIDir reports whether dir holds pg-api's server.json (a regular file).
func IsPGAPIDir(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "server.json"))
	return err == nil && fi.Mode().IsRegular()
}

// pgapiServer is pg-api's server.json, in either of its two shapes: flat, as pg-api's README
// shows it ({"host", "port", "max_connections", "timeout_seconds", "log_level"}), or nested
// after its APP__ and PG__ environment names ({"app": {…}, "pg": {…}}). One file uses one.
type pgapiServer struct {
	App struct {
		Addr     string `yaml:"addr"`
		LogLevel string `yaml:"log_level"`
	} `yaml:"app"`
	PG struct {
		URL            Secret `yaml:"url"`
		MaxConnections *int   `yaml:"max_connections"`
		PoolSize       *int   `yaml:"pool_size"`
	} `yaml:"pg"`

	// The flat shape.
	Host string `yaml:"host"`
	Port *int   `yaml:"port"`
	// MaxConnections is pg-api's connection pool size: databases.main.max_conns (and so its
	// max_concurrent_queries, which defaults to the pool size). The nested pg.max_connections
	// differs because that shape has pool_size beside it.
	MaxConnections *int `yaml:"max_connections"`
	// TimeoutSeconds bounds a query: databases.main.statement_timeout and the query_timeout of
	// every account of accounts.json that sets none. The HTTP timeouts stay pgfast's: they
	// bound reading a request and writing a response, not the query in between.
	TimeoutSeconds *int   `yaml:"timeout_seconds"`
	LogLevel       string `yaml:"log_level"`
}

// pgapiDatabaseURL is the environment variable that gives the main database's url when
// pg-api's files name none (the flat server.json has no key for it). It is read only with a
// pg-api config directory, below PG__URL and PGFAST_DATABASE_URL.
const pgapiDatabaseURL = "DATABASE_URL"

// pgapiAccounts is the object form of accounts.json; the file may also be a bare list.
type pgapiAccounts struct {
	Accounts []Account `yaml:"accounts"`
}

// loadPGAPIDir reads dir/server.json and dir/accounts.json; either may be missing, not both.
// env gives DATABASE_URL when the files name no url for the main database.
func loadPGAPIDir(dir string, env func(string) (string, bool)) (*Config, error) {
	c := base()
	c.origin = make(origin)
	found := 0
	var timeout *Duration

	serverFile := filepath.Join(dir, "server.json")
	root, err := readTree(serverFile)
	switch {
	case err != nil:
		return nil, err
	case root != nil:
		found++
		var s pgapiServer
		d := newDecoder(serverFile)
		d.lines = make(origin)
		d.decode(root, reflect.ValueOf(&s).Elem(), "")
		if err := d.err(); err != nil {
			return nil, err
		}
		if err := c.applyPGAPIServer(&s, d.lines, serverFile); err != nil {
			return nil, err
		}
		if s.TimeoutSeconds != nil {
			t := Duration(time.Duration(*s.TimeoutSeconds) * time.Second)
			timeout = &t
		}
	}

	accountsFile := filepath.Join(dir, "accounts.json")
	root, err = readTree(accountsFile)
	switch {
	case err != nil:
		return nil, err
	case root != nil:
		found++
		d := newDecoder(accountsFile)
		d.lines = c.origin
		if root.Kind == yaml.SequenceNode {
			d.decode(root, reflect.ValueOf(&c.Accounts).Elem(), "accounts")
		} else {
			var a pgapiAccounts
			d.decode(root, reflect.ValueOf(&a).Elem(), "")
			c.Accounts = a.Accounts
		}
		if err := d.err(); err != nil {
			return nil, err
		}
	}

	if found == 0 {
		return nil, fmt.Errorf("config: %s holds neither server.json nor accounts.json", dir)
	}
	if timeout != nil {
		for i := range c.Accounts {
			if c.Accounts[i].QueryTimeout == nil {
				t := *timeout
				c.Accounts[i].QueryTimeout = &t
			}
		}
	}
	if db := c.Databases[MainDatabase]; db == nil || db.URL == "" {
		if u, ok := env(pgapiDatabaseURL); ok && u != "" {
			c.mainDB().URL = Secret(u)
			c.set("databases.main.url", "env "+pgapiDatabaseURL)
		}
	}
	return c, nil
}

// readTree parses a JSON file into a node tree; nil, nil when the file does not exist or is
// empty.
func readTree(name string) (*yaml.Node, error) {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: cannot read %s: %w", name, err)
	}
	root, err := parseJSON(data, name)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, nil
	}
	return root, nil
}

// applyPGAPIServer maps server.json onto the config, keeping its lines for error messages.
func (c *Config) applyPGAPIServer(s *pgapiServer, lines origin, file string) error {
	move := func(from, to string) {
		if w, ok := lines[from]; ok {
			c.origin[to] = w
		}
	}
	flat := s.Host != "" || s.Port != nil || s.MaxConnections != nil || s.TimeoutSeconds != nil || s.LogLevel != ""
	if !flat {
		c.applyPGAPINested(s, move)
		return nil
	}
	fail := func(path, format string, args ...any) error {
		where := lines[path]
		if where == "" {
			where = file
		}
		return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Line: lineOf(where), Where: where}
	}
	if s.App.Addr != "" || s.App.LogLevel != "" || s.PG.URL != "" || s.PG.MaxConnections != nil || s.PG.PoolSize != nil {
		nested := "app"
		if s.App.Addr == "" && s.App.LogLevel == "" {
			nested = "pg"
		}
		return fail(nested, "pg-api's flat keys (host, port, max_connections, timeout_seconds, log_level) and its app and pg sections do not mix; use one shape")
	}
	if s.Host != "" || s.Port != nil {
		host, port, err := net.SplitHostPort(c.Server.Addr)
		if err != nil {
			return fmt.Errorf("BUG: default server.addr %q: %w", c.Server.Addr, err)
		}
		if s.Host != "" {
			host = s.Host
			move("host", "server.addr")
		}
		if s.Port != nil {
			if *s.Port < 0 || *s.Port > 65535 {
				return fail("port", "must be 0-65535, got %d", *s.Port)
			}
			port = strconv.Itoa(*s.Port)
			move("port", "server.addr")
		}
		c.Server.Addr = net.JoinHostPort(host, port)
	}
	if s.MaxConnections != nil {
		c.mainDB().MaxConns = *s.MaxConnections
		move("max_connections", "databases.main.max_conns")
	}
	if s.TimeoutSeconds != nil {
		if *s.TimeoutSeconds < 0 {
			return fail("timeout_seconds", "must be >= 0 (0: no timeout), got %d", *s.TimeoutSeconds)
		}
		c.mainDB().StatementTimeout = Duration(time.Duration(*s.TimeoutSeconds) * time.Second)
		move("timeout_seconds", "databases.main.statement_timeout")
	}
	if s.LogLevel != "" {
		c.Log.Level = s.LogLevel
		move("log_level", "log.level")
	}
	return nil
}

// applyPGAPINested maps the app and pg sections of server.json.
func (c *Config) applyPGAPINested(s *pgapiServer, move func(from, to string)) {
	if s.App.Addr != "" {
		c.Server.Addr = s.App.Addr
		move("app.addr", "server.addr")
	}
	if s.App.LogLevel != "" {
		c.Log.Level = s.App.LogLevel
		move("app.log_level", "log.level")
	}
	if s.PG.URL != "" {
		c.mainDB().URL = s.PG.URL
		move("pg.url", "databases.main.url")
	}
	if s.PG.PoolSize != nil {
		c.mainDB().MaxConns = *s.PG.PoolSize
		move("pg.pool_size", "databases.main.max_conns")
	}
	if s.PG.MaxConnections != nil {
		c.mainDB().MaxConcurrentQueries = *s.PG.MaxConnections
		move("pg.max_connections", "databases.main.max_concurrent_queries")
	}
}
