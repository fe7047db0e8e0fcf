package config

import (
	"strings"
	"time"
)

// withDefaults fills what depends on other fields or on the whole file, once the file, env and
// flags are applied: the embedded main database, account databases, inherited limits and
// timeouts, normalized spellings. It is idempotent. Plain per-field defaults are set earlier, by
// base and the setDefaults methods, so that explicit zeros in the file survive.
func (c *Config) withDefaults() {
	if c.Server.AdminAddr == "off" {
		c.Server.AdminAddr = ""
	}
	c.Log.Level = strings.ToLower(c.Log.Level)
	if c.Log.Level == "warning" {
		c.Log.Level = "warn"
	}
	if c.Limits.Burst == 0 {
		c.Limits.Burst = c.Limits.Default.N
	}

	if c.Databases == nil {
		c.Databases = make(map[string]*Database)
	}
	if !c.hasUserDatabase() {
		c.Databases[MainDatabase] = NewDatabase("")
	}

	for i := range c.Accounts {
		a := &c.Accounts[i]
		for j, op := range a.AllowedOperations {
			a.AllowedOperations[j] = strings.ToUpper(op)
		}
		a.APITokenSHA256 = strings.ToLower(a.APITokenSHA256)
		if a.DatabaseURL != "" && a.ID != "" && (a.Database == "" || a.Database == AccountDatabasePrefix+a.ID) {
			a.Database = AccountDatabasePrefix + a.ID
			db, ok := c.Databases[a.Database]
			if !ok {
				db = NewDatabase("")
				c.Databases[a.Database] = db
			}
			db.URL, db.MaxConns = a.DatabaseURL, a.MaxConnections
		}
		if a.Database == "" {
			a.Database = MainDatabase
		}
		if a.RateLimit == nil {
			l := c.Limits.DefaultLimit()
			a.RateLimit = &l
		}
		if a.QueryTimeout == nil {
			t := c.statementTimeout(a.Database)
			a.QueryTimeout = &t
		}
	}

	for name, db := range c.Databases {
		if db == nil {
			db = NewDatabase("")
			c.Databases[name] = db
		}
		if db.MaxConcurrentQueries == 0 && db.MaxConns > 0 {
			db.MaxConcurrentQueries = db.MaxConns
		}
		if db.StatementCache == "" {
			db.StatementCache = StatementCachePrepare
		}
	}

	for _, u := range c.Upstreams {
		if u != nil && u.Balance == "" { // nil: Validate reports it
			u.Balance = BalanceRoundRobin
		}
	}

	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Auth == "" {
			r.Auth = AuthNone
		}
		if r.MaxBodyBytes == 0 {
			r.MaxBodyBytes = c.Server.MaxBodyBytes
		}
		switch r.Backend() {
		case BackendSQL, "": // none: Validate reports it; the sql defaults keep its other messages quiet
			if len(r.Methods) == 0 {
				r.Methods = Methods{"GET"}
			}
			if r.Result == "" {
				r.Result = ResultOne
			}
			if r.Coalesce == "" {
				r.Coalesce = CoalesceAuto
				if r.Result == ResultMany {
					r.Coalesce = CoalesceOff
				}
			}
			if r.Database == "" {
				r.Database = MainDatabase
			}
			if r.Timeout == nil {
				t := c.statementTimeout(r.Database)
				r.Timeout = &t
			}
		case BackendStatic:
			if len(r.Methods) == 0 {
				r.Methods = Methods{"GET", "HEAD"}
			}
		}
	}

	j := &c.Auth.JWT
	if len(j.Algorithms) == 0 {
		if j.Secret != "" {
			j.Algorithms = append(j.Algorithms, AlgHS256)
		}
		if j.JWKSURL != "" || len(j.PublicKeys) > 0 {
			j.Algorithms = append(j.Algorithms, AlgRS256, AlgES256, AlgEdDSA)
		}
	}
}

// hasUserDatabase reports whether any database other than an account's inline one is declared.
func (c *Config) hasUserDatabase() bool {
	for name := range c.Databases {
		if !strings.HasPrefix(name, AccountDatabasePrefix) {
			return true
		}
	}
	return false
}

// statementTimeout returns the statement_timeout of the named database, or the default when
// it does not exist (Validate reports that).
func (c *Config) statementTimeout(name string) Duration {
	if db := c.Databases[name]; db != nil {
		return db.StatementTimeout
	}
	return NewDatabase("").StatementTimeout
}

// Embedded reports whether the main database is served by the embedded PostgreSQL (it has no
// url).
func (c *Config) Embedded() bool {
	db := c.Databases[MainDatabase]
	return db != nil && db.URL == ""
}

// Default returns the configuration pgfast runs with when given none: every default filled,
// and the "main" database served by the embedded PostgreSQL.
func Default() *Config {
	c := base()
	c.withDefaults()
	return c
}

// base returns the top-level defaults a file is decoded over, without databases.
func base() *Config {
	return &Config{
		Server: Server{
			Addr:                     "127.0.0.1:8580",
			AdminAddr:                "127.0.0.1:8581",
			ReadTimeout:              Duration(10 * time.Second),
			WriteTimeout:             Duration(10 * time.Second),
			IdleTimeout:              Duration(60 * time.Second),
			ShutdownTimeout:          Duration(30 * time.Second),
			MaxBodyBytes:             1 * MiB,
			MaxHeaderBytes:           8 * KiB,
			MaxConns:                 10000,
			StreamMinRate:            64 * KiB,
			MaxInflightResponseBytes: 256 * MiB,
			MaxSpillBytes:            1 * GiB,
			MemoryLimit:              0, // Go's default: no soft limit
			CORS: CORS{
				AllowedMethods: []string{"GET", "POST"},
				AllowedHeaders: []string{"Authorization", "Content-Type"},
				MaxAge:         Duration(10 * time.Minute),
			},
			Compression: Compression{Enabled: true, MinBytes: 1024, GzipLevel: 6, BrotliLevel: 5},
		},
		Cache:  Cache{MaxBytes: 256 * MiB, StreamThresholdBytes: 1 * MiB},
		Limits: Limits{Key: KeyIP, Algorithm: AlgoGCRA, RedisTimeout: Duration(5 * time.Millisecond)},
		Auth: Auth{JWT: JWT{
			JWKSRefresh: Duration(5 * time.Minute),
			Leeway:      Duration(30 * time.Second),
			Require:     []string{"exp"},
		}},
		Log: Log{Level: "info", Format: "json", Audit: Audit{OpenSearch: OpenSearch{
			Index: "pgfast-audit", Batch: 500, FlushInterval: Duration(time.Second)}}},
		ScriptLimits: ScriptLimits{Timeout: Duration(20 * time.Millisecond), MaxMemoryBytes: 64 * MiB},
		OpenAPI:      OpenAPI{Enabled: true, Path: "/openapi.json"},
		Tracing:      Tracing{Sample: 0.1, ServiceName: "pgfast"},
		DataDir:      "./.pgfast",
	}
}

// NewDatabase returns a Database with every default set and the given url.
func NewDatabase(url string) *Database {
	d := &Database{URL: Secret(url)}
	d.setDefaults()
	return d
}

func (d *Database) setDefaults() {
	*d = Database{
		URL:               d.URL,
		MaxConns:          20,
		AcquireTimeout:    Duration(time.Second),
		StatementTimeout:  Duration(30 * time.Second),
		ConnectTimeout:    Duration(5 * time.Second),
		SlowQuery:         Duration(500 * time.Millisecond),
		IdleTimeout:       Duration(30 * time.Minute),
		MaxLifetime:       Duration(time.Hour),
		HealthCheckPeriod: Duration(time.Minute),
		ApplicationName:   "pgfast",
		StatementCache:    StatementCachePrepare,
		CoalesceBudget:    Duration(10 * time.Millisecond),
		CoalesceRuns:      2,
	}
}

func (a *Account) setDefaults() {
	*a = Account{MaxConnections: 10, AllowedOperations: []string{OpSelect}, MaxRows: 10000}
}

// setDefaults sets only what does not depend on the backend; withDefaults sets the rest once the
// backend is known, so that sql-only keys stay empty on other routes and Validate can refuse
// them when written.
func (r *Route) setDefaults() {
	*r = Route{Auth: AuthNone}
}

func (s *Static) setDefaults() { *s = Static{Index: "index.html"} }

func (m *Mock) setDefaults() { *m = Mock{Status: 200} }

// NewUpstream returns an Upstream with every default set and a target of weight 1 per url.
func NewUpstream(urls ...string) *Upstream {
	u := &Upstream{}
	u.setDefaults()
	for _, url := range urls {
		u.Targets = append(u.Targets, Target{URL: url, Weight: 1})
	}
	return u
}

func (u *Upstream) setDefaults() {
	*u = Upstream{
		Balance:           BalanceRoundRobin,
		ConnectTimeout:    Duration(time.Second),
		Timeout:           Duration(10 * time.Second),
		MaxConnsPerTarget: 512,
		Retries:           2,
	}
}

func (t *Target) setDefaults() { *t = Target{Weight: 1} }

func (h *HealthCheck) setDefaults() {
	*h = HealthCheck{Interval: Duration(2 * time.Second), Timeout: Duration(time.Second), Healthy: 2, Unhealthy: 3}
}

func (b *CircuitBreaker) setDefaults() {
	*b = CircuitBreaker{
		Failures:         5,
		Window:           Duration(10 * time.Second),
		ErrorRatio:       0.5,
		MinRequests:      20,
		OpenFor:          Duration(30 * time.Second),
		HalfOpenRequests: 1,
	}
}
