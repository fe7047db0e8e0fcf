package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
)

// LoadOptions says where Load finds the configuration.
type LoadOptions struct {
	// File is a YAML or JSON config file (flag --config, env PGFAST_CONFIG). The format is
	// told by the extension (.yaml, .yml, .json), else by the content.
	File string
	// Dir is a pg-api config directory (flag --config-dir, or PGAPIDir found by the command)
	// holding server.json (flat or nested) and/or accounts.json; DATABASE_URL then gives the
	// main database's url when the files name none. Exclusive with File.
	Dir string
	// Env looks up environment variables, for overrides and env:NAME secrets. Nil means
	// os.LookupEnv; tests pass a map's lookup.
	Env func(string) (string, bool)
	// Overrides are the command-line flags; they win over the file and the environment.
	Overrides Overrides
}

// Overrides are the command-line flags that override the file and the environment. An empty
// field is not set; to turn the admin listener off from the command line, pass "off".
type Overrides struct {
	Addr        string // --addr: server.addr
	AdminAddr   string // --admin-addr: server.admin_addr
	DatabaseURL string // --database-url: databases.main.url
	LogLevel    string // --log-level: log.level
	DataDir     string // --data-dir: data_dir
}

// Load reads the configuration: the file named by opts.File (YAML, or JSON by extension or
// content) or, with opts.Dir, pg-api's <dir>/server.json and <dir>/accounts.json; then applies
// environment overrides (pg-api's APP__ and PG__ names, then PGFAST_* names, which win) and then
// opts.Overrides; resolves env:NAME secrets; makes input paths relative to the config's
// directory; fills defaults; and validates, also checking that static dirs and CA files exist.
// With neither File nor Dir it starts from the defaults, in which "main" has no url and is
// served by the embedded PostgreSQL.
//
// An empty environment variable counts as unset. On error the result is nil and the error
// joins every problem found, each a *FieldError naming the field path.
func Load(opts LoadOptions) (*Config, error) {
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	var (
		c       *Config
		err     error
		source  string
		baseDir string
	)
	switch {
	case opts.File != "" && opts.Dir != "":
		return nil, errors.New("config: give a config file or a config dir, not both")
	case opts.File != "":
		data, rerr := os.ReadFile(opts.File)
		if rerr != nil {
			return nil, fmt.Errorf("config: cannot read config file: %w", rerr)
		}
		c, err = decodeConfig(data, formatOf(opts.File), opts.File)
		source, baseDir = opts.File, filepath.Dir(opts.File)
	case opts.Dir != "":
		c, err = loadPGAPIDir(opts.Dir, env)
		source, baseDir = opts.Dir, opts.Dir
	default:
		c = base()
		c.origin = make(origin)
	}
	if err != nil {
		return nil, err
	}
	c.Source = source
	if err := c.applyEnv(env); err != nil {
		return nil, err
	}
	c.applyOverrides(opts.Overrides)
	if err := c.resolveSecrets(env); err != nil {
		return nil, err
	}
	c.resolvePaths(baseDir)
	c.withDefaults()
	if err := c.validate(true); err != nil {
		return nil, err
	}
	return c, nil
}

// mainDB returns the main database, creating it with defaults (and no url) when missing.
func (c *Config) mainDB() *Database {
	if c.Databases == nil {
		c.Databases = make(map[string]*Database)
	}
	db := c.Databases[MainDatabase]
	if db == nil {
		db = NewDatabase("")
		c.Databases[MainDatabase] = db
	}
	return db
}

// set records that path got its value from origin.
func (c *Config) set(path, from string) {
	if c.origin == nil {
		c.origin = make(origin)
	}
	c.origin[path] = from
}

// applyEnv applies environment overrides: pg-api's names first, then PGFAST_* over them.
func (c *Config) applyEnv(env func(string) (string, bool)) error {
	get := func(name string) (string, bool) {
		v, ok := env(name)
		return v, ok && v != ""
	}
	var errs []error
	setInt := func(name, path string, dst func(*Database) *int) {
		s, ok := get(name)
		if !ok {
			return
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			errs = append(errs, &FieldError{Path: "env " + name, Msg: "not an integer: " + strconv.Quote(s)})
			return
		}
		*dst(c.mainDB()) = n
		c.set(path, "env "+name)
	}
	str := func(name, path string, dst *string) {
		if s, ok := get(name); ok {
			*dst = s
			c.set(path, "env "+name)
		}
	}
	dbURL := func(name string) {
		if s, ok := get(name); ok {
			c.mainDB().URL = Secret(s)
			c.set("databases.main.url", "env "+name)
		}
	}

	str("APP__ADDR", "server.addr", &c.Server.Addr)
	str("APP__LOG_LEVEL", "log.level", &c.Log.Level)
	dbURL("PG__URL")
	setInt("PG__POOL_SIZE", "databases.main.max_conns", func(d *Database) *int { return &d.MaxConns })
	setInt("PG__MAX_CONNECTIONS", "databases.main.max_concurrent_queries", func(d *Database) *int { return &d.MaxConcurrentQueries })

	// pg-api's OpenSearch audit: OPENSEARCH_ENABLED gates the other two, as in pg-api.
	if s, ok := get("OPENSEARCH_ENABLED"); ok {
		on, valid := parseBool(s)
		switch {
		case !valid:
			errs = append(errs, &FieldError{Path: "env OPENSEARCH_ENABLED", Msg: "must be true or false, got " + strconv.Quote(s)})
		case on:
			str("OPENSEARCH_API_URL", "log.audit.opensearch.url", &c.Log.Audit.OpenSearch.URL)
			if s, ok := get("OPENSEARCH_API_TOKEN"); ok {
				c.Log.Audit.OpenSearch.Token = Secret(s)
				c.set("log.audit.opensearch.token", "env OPENSEARCH_API_TOKEN")
			}
			if c.Log.Audit.OpenSearch.URL == "" {
				errs = append(errs, &FieldError{Path: "env OPENSEARCH_ENABLED", Msg: "true needs OPENSEARCH_API_URL (or log.audit.opensearch.url)"})
			}
		default:
			c.Log.Audit.OpenSearch.URL = ""
			c.set("log.audit.opensearch.url", "env OPENSEARCH_ENABLED")
		}
	}

	str("PGFAST_ADDR", "server.addr", &c.Server.Addr)
	str("PGFAST_ADMIN_ADDR", "server.admin_addr", &c.Server.AdminAddr)
	dbURL("PGFAST_DATABASE_URL")
	str("PGFAST_LOG_LEVEL", "log.level", &c.Log.Level)
	str("PGFAST_DATA_DIR", "data_dir", &c.DataDir)
	return joinErrors(errs)
}

// applyOverrides applies the command-line flags.
func (c *Config) applyOverrides(o Overrides) {
	for _, f := range []struct {
		val, flag, path string
		dst             *string
	}{
		{o.Addr, "--addr", "server.addr", &c.Server.Addr},
		{o.AdminAddr, "--admin-addr", "server.admin_addr", &c.Server.AdminAddr},
		{o.LogLevel, "--log-level", "log.level", &c.Log.Level},
		{o.DataDir, "--data-dir", "data_dir", &c.DataDir},
	} {
		if f.val != "" {
			*f.dst = f.val
			c.set(f.path, "flag "+f.flag)
		}
	}
	if o.DatabaseURL != "" {
		c.mainDB().URL = Secret(o.DatabaseURL)
		c.set("databases.main.url", "flag --database-url")
	}
}

var secretType = reflect.TypeFor[Secret]()

// resolveSecrets replaces every env:NAME secret with the variable's value. A missing variable
// is a problem naming the field and the variable; the value is never shown.
func (c *Config) resolveSecrets(env func(string) (string, bool)) error {
	var errs []error
	walkFields(reflect.ValueOf(c).Elem(), "", func(path string, f reflect.Value) {
		if f.Type() != secretType || !f.CanSet() {
			return
		}
		name, ok := Secret(f.String()).EnvName()
		if !ok {
			return
		}
		val, ok := env(name)
		if !ok {
			where := c.origin.where(path)
			errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf("environment variable %s is not set", name), Line: lineOf(where), Where: where})
			return
		}
		f.SetString(val)
	})
	return joinErrors(errs)
}

// resolvePaths makes the input files named in the config relative to dir.
func (c *Config) resolvePaths(dir string) {
	if dir == "" || dir == "." {
		return
	}
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for i := range c.Auth.JWT.PublicKeys {
		rel(&c.Auth.JWT.PublicKeys[i])
	}
	rel(&c.Server.TLS.CertFile)
	rel(&c.Server.TLS.KeyFile)
	for i := range c.Routes {
		if s := c.Routes[i].Static; s != nil {
			rel(&s.Dir)
		}
		rel(&c.Routes[i].Script)
	}
	for _, u := range c.Upstreams {
		if u != nil {
			rel(&u.TLS.CAFile)
		}
	}
}
