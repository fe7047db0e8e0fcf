package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"gopkg.in/yaml.v3"
)

// pg-api keeps its configuration in a directory: server.json mirrors its APP__ and PG__
// environment names, accounts.json lists the accounts. pgfast reads both with --config-dir, so
// a pg-api deployment moves over without rewriting them.

// pgapiServer is pg-api's server.json.
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
}

// pgapiAccounts is the object form of accounts.json; the file may also be a bare list.
type pgapiAccounts struct {
	Accounts []Account `yaml:"accounts"`
}

// loadPGAPIDir reads dir/server.json and dir/accounts.json; either may be missing, not both.
func loadPGAPIDir(dir string) (*Config, error) {
	c := base()
	c.origin = make(origin)
	found := 0

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
		c.applyPGAPIServer(&s, d.lines)
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
func (c *Config) applyPGAPIServer(s *pgapiServer, lines origin) {
	move := func(from, to string) {
		if w, ok := lines[from]; ok {
			c.origin[to] = w
		}
	}
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
