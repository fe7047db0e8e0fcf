// Package config is pgfast's one typed configuration: a YAML (or JSON) file, or pg-api's config
// directory, overridden by environment variables and then by command-line flags, with env:NAME
// secrets, defaults and validation. Every problem names its field path, the bad value (never a
// secret's) and the file line, and unknown keys are errors at any depth.
//
// The package holds plain data and imports nothing else of pgfast: the engine maps each section
// to the options of the package that uses it.
//
// Paths in the file that name inputs (auth.jwt.public_keys, server.tls.cert_file and key_file,
// upstreams.*.tls.ca_file, routes[].static.dir) are relative to the config file's directory;
// paths that name outputs or state (log.audit.file, data_dir) are relative to the working directory.
// Validate never touches the file system; Load checks that static dirs and CA files exist.
//
// Top-level keys that start with "x-" are ignored, as in Compose files: they give YAML anchors a
// home ("x-cached: &cached {cache: 60s}", then "<<: *cached" in routes). Merge keys are
// supported; keys written in a map win over merged ones.
package config

// MainDatabase is the name of the default database: routes and accounts that name none use it,
// PGFAST_DATABASE_URL and --database-url set its url, and when it has no url pgfast serves it
// from the embedded PostgreSQL under data_dir.
const MainDatabase = "main"

// AccountDatabasePrefix starts the name of the database an account's inline database_url
// creates: "account:<id>". Such a database has the default settings, its url is database_url and
// its max_conns is the account's max_connections. The prefix is reserved: a file cannot use it.
const AccountDatabasePrefix = "account:"

// Config is a whole pgfast configuration. Load and Parse return it with defaults filled and
// validated; a Config built in Go should call Validate before use.
type Config struct {
	// Server is the public HTTP listener.
	Server Server `yaml:"server"`
	// Databases maps a name to a PostgreSQL database. "main" is the default. With no entry at
	// all, Load adds "main" without a url, which means the embedded PostgreSQL.
	Databases map[string]*Database `yaml:"databases"`
	// Accounts are the raw query API's clients, as in pg-api's accounts.json.
	Accounts []Account `yaml:"accounts"`
	// Upstreams maps a name to a pool of HTTP servers that routes with an upstream key proxy
	// to. Default none.
	Upstreams map[string]*Upstream `yaml:"upstreams"`
	// Routes are the declared routes: a host, methods and path mapped to one backend (a
	// prepared statement, an upstream, a static directory or a mock answer).
	Routes []Route `yaml:"routes"`
	// Cache is the result cache of declared routes.
	Cache Cache `yaml:"cache"`
	// Limits are the default rate limits and how clients are told apart.
	Limits Limits `yaml:"limits"`
	// Auth configures JWT verification (API tokens live in Accounts).
	Auth Auth `yaml:"auth"`
	// Log configures the process, access and audit logs.
	Log Log `yaml:"log"`
	// ScriptLimits bound every route script's calls (DESIGN §10).
	ScriptLimits ScriptLimits `yaml:"script_limits"`
	// OpenAPI serves the OpenAPI 3.1 document of the route table on the public listener.
	OpenAPI OpenAPI `yaml:"openapi"`
	// Tracing exports OpenTelemetry spans of every request over OTLP/HTTP. Default off.
	Tracing Tracing `yaml:"tracing"`
	// DataDir is the embedded PostgreSQL's home (its cluster lives in DataDir/pg). Default
	// "./.pgfast"; flag --data-dir, env PGFAST_DATA_DIR. Change it to keep the data elsewhere.
	DataDir string `yaml:"data_dir"`

	// Source is the file or directory the config was loaded from, "" for none; the engine
	// watches it for reload.
	Source string `yaml:"-"`

	origin origin // path -> where the value was written, for error messages
}

// Server configures the public HTTP listener.
type Server struct {
	// Addr is the public listen address, host:port. Default "127.0.0.1:8580" (loopback only,
	// as pg-api); ":8580" exposes it on every interface. Flag --addr, env PGFAST_ADDR or
	// APP__ADDR.
	Addr string `yaml:"addr"`
	// AdminAddr is the admin listener (/metrics, /debug/pprof, /admin/*). Default
	// "127.0.0.1:8581"; "" or "off" disables it (Load stores "off" as ""). Keep it off public
	// interfaces: it can reload the config and purge the cache.
	AdminAddr string `yaml:"admin_addr"`
	// ReadTimeout bounds reading one request, headers and body. Default 10s; 0 means none.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing one response. Default 10s; 0 means none. Raise it for large
	// streamed results over slow links.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default 60s; 0 means none.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ShutdownTimeout is how long a graceful shutdown waits for in-flight requests before
	// closing connections. Default 30s; must be > 0.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// MaxBodyBytes is the largest request body; bigger ones get 413. Default 1MiB. Raise it
	// for large /v1/batch requests.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// MaxHeaderBytes is the largest request head (request line plus headers); it sizes
	// fasthttp's read buffer. Default 8KiB, at least 1KiB. Raise it for big JWTs or cookies.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`
	// MaxConns caps concurrent client connections. Default 10000. A connection past it gets a
	// JSON 503 with Retry-After before it is closed.
	MaxConns int `yaml:"max_conns"`
	// StreamMinRate is the slowest a client may read a streamed response after its first
	// second; a slower one is cut so it cannot hold the server's resources. Default 64KiB (per
	// second); 0 disables the check.
	StreamMinRate ByteSize `yaml:"stream_min_rate"`
	// MaxInflightResponseBytes bounds the memory that buffered responses (/v1/batch results,
	// rows read ahead of a slow client) may hold across all requests; past it new requests that
	// need a buffer get 503 with Retry-After. Default 256MiB.
	MaxInflightResponseBytes ByteSize `yaml:"max_inflight_response_bytes"`
	// MaxSpillBytes bounds the temporary files that responses spill to past their memory
	// bound, across all responses; a response that would go past it is cut and its statement
	// cancelled. Default 1GiB.
	MaxSpillBytes ByteSize `yaml:"max_spill_bytes"`
	// MemoryLimit is the Go runtime's soft memory limit (debug.SetMemoryLimit), applied by
	// pgfast serve at start. Default 0: Go's own (GOMEMLIMIT if set, else none), so the heap
	// may grow to twice the live data under GOGC=100. Near the limit the GC runs more often
	// and spends more CPU to stay under it, and past it the GC keeps running at up to about
	// half the CPU rather than fail: it trades throughput for a lower peak RSS, never makes
	// an allocation fail and bounds only the Go runtime's memory (not cgo allocations, the
	// mapped binary or the embedded PostgreSQL). Set it at 80-90% of the container's memory,
	// not near the live heap: at 24MiB under 1000 connections the GC ran 328 times instead of
	// 4 and req/s fell by about two thirds (README, Memory). A reload does not change it.
	MemoryLimit ByteSize `yaml:"memory_limit"`
	// CORS configures cross-origin requests; with no allowed_origins no CORS headers are sent.
	CORS CORS `yaml:"cors"`
	// Compression configures gzip and brotli responses.
	Compression Compression `yaml:"compression"`
	// TLS serves HTTPS when both files are set.
	TLS TLS `yaml:"tls"`
}

// CORS configures Cross-Origin Resource Sharing for browsers.
type CORS struct {
	// AllowedOrigins lists origins (scheme://host[:port]) allowed to call the API, or "*" for
	// any. Default none: no CORS headers.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowedMethods are the methods a preflight allows. Default [GET, POST].
	AllowedMethods []string `yaml:"allowed_methods"`
	// AllowedHeaders are the request headers a preflight allows. Default [Authorization,
	// Content-Type].
	AllowedHeaders []string `yaml:"allowed_headers"`
	// ExposeHeaders are response headers scripts may read (RateLimit-Remaining, say).
	// Default none.
	ExposeHeaders []string `yaml:"expose_headers"`
	// AllowCredentials lets browsers send cookies and Authorization. Default false; it cannot
	// be combined with the "*" origin.
	AllowCredentials bool `yaml:"allow_credentials"`
	// MaxAge is how long browsers may cache a preflight answer. Default 10m.
	MaxAge Duration `yaml:"max_age"`
}

// Compression configures response compression.
type Compression struct {
	// Enabled turns gzip and brotli on for clients that accept them. Default true.
	Enabled bool `yaml:"enabled"`
	// MinBytes is the smallest body worth compressing, cached or dynamic. Default 1024; 0
	// compresses every body.
	MinBytes ByteSize `yaml:"min_bytes"`
	// GzipLevel is 1 (fastest) to 9 (smallest). Default 6. 0 is refused: to gzip it means
	// stored blocks, no compression at all (turn compression off with Enabled instead).
	GzipLevel int `yaml:"gzip_level"`
	// BrotliLevel is 0 (fastest; a real quality, not "the default") to 11 (smallest).
	// Default 5; cached bodies are compressed once, so a higher level costs little on
	// cached routes.
	BrotliLevel int `yaml:"brotli_level"`
}

// TLS names a certificate and key; set both or neither.
type TLS struct {
	// CertFile is a PEM certificate chain, relative to the config file's directory.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key, relative to the config file's directory.
	KeyFile string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Statement cache modes for Database.StatementCache.
const (
	StatementCachePrepare  = "prepare"
	StatementCacheDescribe = "describe"
)

// Database is one PostgreSQL database and its connection pool.
type Database struct {
	// URL is a postgres:// or postgresql:// URL or a key=value DSN. A secret: write
	// env:NAME to read it from the environment. Empty only for "main", meaning the embedded
	// PostgreSQL. Env PGFAST_DATABASE_URL or PG__URL and flag --database-url set main's.
	URL Secret `yaml:"url"`
	// MaxConns is the pool size. Default 20; env PG__POOL_SIZE sets main's. Keep the sum over
	// all pgfast instances below the server's max_connections.
	MaxConns int `yaml:"max_conns"`
	// MinConns is how many connections the pool keeps open when idle. Default 0.
	MinConns int `yaml:"min_conns"`
	// MaxConcurrentQueries is the gate: how many queries may run at once; others wait up to
	// AcquireTimeout, then get 503. Default 0, which Load replaces with MaxConns; above
	// MaxConns it needs AcquireTimeout > 0. Env PG__MAX_CONNECTIONS sets main's.
	MaxConcurrentQueries int `yaml:"max_concurrent_queries"`
	// AcquireTimeout bounds the wait at the gate before a 503. Default 1s; 0 refuses at once.
	AcquireTimeout Duration `yaml:"acquire_timeout"`
	// StatementTimeout is PostgreSQL's statement_timeout for this database's queries (504 when
	// hit). Default 30s; 0 means none. Routes and accounts may set their own.
	StatementTimeout Duration `yaml:"statement_timeout"`
	// ConnectTimeout bounds opening one connection. Default 5s; 0 leaves the url's
	// connect_timeout, or none.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// SlowQuery logs queries slower than this. Default 500ms; 0 turns it off.
	SlowQuery Duration `yaml:"slow_query"`
	// IdleTimeout closes a pooled connection that has been idle this long (seen by the next
	// health check), down to min_conns. Default 30m; 0 means never. Lower it when idle
	// backends cost the server (near its max_connections, behind PgBouncer).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxLifetime replaces a connection this long after it opened (when next acquired or seen
	// idle by a health check), which bounds what a long-lived backend accumulates and moves the
	// pool to a server that took over its address after a failover. Default 1h; 0 means never.
	MaxLifetime Duration `yaml:"max_lifetime"`
	// HealthCheckPeriod is how often idle connections are checked against idle_timeout and
	// max_lifetime and the pool is topped up to min_conns. Default 1m; 0 turns the periodic
	// check off (expired connections are then replaced only when acquired, idle ones never).
	HealthCheckPeriod Duration `yaml:"health_check_period"`
	// ApplicationName is reported in pg_stat_activity. Default "pgfast"; empty sends none,
	// leaving the url's application_name, if any.
	ApplicationName string `yaml:"application_name"`
	// StatementCache is "prepare" (default: named prepared statements) or "describe" (no named
	// statements, for PgBouncer in transaction mode).
	StatementCache string `yaml:"statement_cache"`
	// CoalesceBudget bounds how long a coalesced run of a route (routes[].coalesce) holds its
	// connection: a run takes at most CoalesceBudget divided by the route's recent connection
	// time per request (up to 64), so slow statements never queue behind one another on one
	// connection. Default 10ms; 0 turns coalescing off on this database.
	CoalesceBudget Duration `yaml:"coalesce_budget"`
	// CoalesceRuns bounds the coalesced runs of one route under way at once (waiting for a
	// connection or running) while runs of several requests fit in CoalesceBudget; past it a
	// new run keeps gathering until one ends. Default 2; 0 = no bound.
	CoalesceRuns int `yaml:"coalesce_runs"`
	// Settings are run-time settings every connection gets (work_mem, random_page_cost, …).
	Settings Settings `yaml:"settings"`
}

// Account is a client of the raw query API, as in pg-api's accounts.json.
type Account struct {
	// ID names the account in logs and metrics; required and unique.
	ID string `yaml:"id"`
	// Name is for people.
	Name string `yaml:"name"`
	// APIToken is the bearer token. A secret: write env:NAME to read it from the environment.
	// Set exactly one of APIToken and APITokenSHA256.
	APIToken Secret `yaml:"api_token"`
	// APITokenSHA256 is the token's SHA-256 in hex (64 characters), so the file need not hold
	// the token itself. Load stores it in lower case.
	APITokenSHA256 string `yaml:"api_token_sha256"`
	// Database names an entry of databases. Default "main", or "account:<id>" with DatabaseURL.
	Database string `yaml:"database"`
	// DatabaseURL gives the account its own database inline, as pg-api does; Load creates
	// databases["account:<id>"] for it (see AccountDatabasePrefix). A secret. Exclusive with
	// Database.
	DatabaseURL Secret `yaml:"database_url"`
	// RateLimit is the account's request budget; a bare number is per second. Absent means
	// limits.default (and limits.burst); Load always sets it. 0 or "unlimited" means none.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// MaxConnections is the account's pool size. Default 10.
	MaxConnections int `yaml:"max_connections"`
	// AllowedOperations is a subset of SELECT, INSERT, UPDATE, DELETE, DDL and ALL, written in
	// any case and stored in upper case. Default [SELECT], which runs the account's
	// connections read-only.
	AllowedOperations []string `yaml:"allowed_operations"`
	// Role, when set, is the role the account's connections SET ROLE to.
	Role string `yaml:"role"`
	// QueryTimeout is the account's statement_timeout. Absent means the database's
	// statement_timeout; Load always sets it. 0 means none.
	QueryTimeout *Duration `yaml:"query_timeout"`
	// MaxRows truncates results after this many rows (the response says truncated). Default
	// 10000; 0 means unlimited.
	MaxRows int64 `yaml:"max_rows"`
}

// Operations an account may be allowed.
const (
	OpSelect = "SELECT"
	OpInsert = "INSERT"
	OpUpdate = "UPDATE"
	OpDelete = "DELETE"
	OpDDL    = "DDL"
	OpAll    = "ALL"
)

// Cache configures the result cache of declared routes.
type Cache struct {
	// MaxBytes is the cache's memory budget. Default 256MiB; must be > 0 (a route is cached
	// only when it has a cache section, so leave those out to cache nothing).
	MaxBytes ByteSize `yaml:"max_bytes"`
	// StreamThresholdBytes: bodies bigger than this stream to the client and are not cached.
	// Default 1MiB.
	StreamThresholdBytes ByteSize `yaml:"stream_threshold_bytes"`
	// Prewarm lists cache entries to fill when pgfast starts and after each reload, so the
	// first requests for hot keys hit instead of queueing on the database:
	//
	//	prewarm:
	//	  - {route: customer, params: {path.id: 42}}
	//	  - {route: customers, params: {query.limit: 10}}
	//
	// The fills run in the background, a few at a time, and never delay the start or the
	// reload; a fill that fails is logged and left to the first request. An entry still fresh
	// in the cache (an unchanged route across a reload) is not filled again. Default none.
	Prewarm []Prewarm `yaml:"prewarm"`
}

// Prewarm is one cache entry to fill ahead of requests: the answer Route gives a request that
// carries Params, stored under the very key that request computes. Only cached sql routes
// can be prewarmed (other backends key their cache by the whole request), and only routes
// without jwt.* params (a prewarm carries no token). The fill skips the stages in front of
// the cache (auth, rate limits, a script's on_request), so a route whose on_request rewrites
// the path or body gets the entry of the request as written here.
type Prewarm struct {
	// Route names a route with a cache (a duration > 0) and an sql backend; required.
	Route string `yaml:"route"`
	// Params maps the route's params, written as in its params list (path.id, query.limit,
	// header.X-Tenant, body.name), to the value a request would carry, as text: a header's
	// value, a query arg unescaped, a body field as a JSON string. A param left out is absent
	// from the request, so its default applies; path params and required ones must be given.
	// Values are checked against the statement's types when the fill runs (a bad one is
	// logged, as the request would get 400). Default none.
	Params map[string]string `yaml:"params"`
}

// Limiter keys and algorithms.
const (
	KeyIP          = "ip"
	KeyAccount     = "account"
	AlgoGCRA       = "gcra"
	AlgoSlidingWin = "sliding_window"
)

// Limits configures rate limiting.
type Limits struct {
	// Default limits every client (as told apart by Key) across routes. Default none
	// (unlimited); accounts without a rate_limit inherit it.
	Default Rate `yaml:"default"`
	// Burst is Default's burst. Default 0, which Load replaces with Default's N.
	Burst int64 `yaml:"burst"`
	// Key tells clients apart: ip (default), account, or jwt.<claim> (jwt.sub, say; needs
	// auth.jwt).
	Key string `yaml:"key"`
	// Algorithm is gcra (default: a token bucket) or sliding_window (pg-api's).
	Algorithm string `yaml:"algorithm"`
	// TrustedProxies are CIDRs or IPs whose X-Forwarded-For is believed when the key is ip.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// RedisURL, a redis:// or rediss:// URL, shares limits between instances. A secret.
	// Default "": local limits.
	RedisURL Secret `yaml:"redis_url"`
	// RedisTimeout bounds one Redis decision before falling back to the local limiter, and
	// every socket operation of the Redis client. Default 5ms; must be > 0.
	RedisTimeout Duration `yaml:"redis_timeout"`
}

// DefaultLimit returns Default with its burst.
func (l Limits) DefaultLimit() RateLimit { return RateLimit{Rate: l.Default, Burst: l.Burst} }

// Auth configures authentication beyond API tokens.
type Auth struct {
	// JWT configures bearer JWT verification; see JWT.Enabled.
	JWT JWT `yaml:"jwt"`
}

// JWT algorithms.
const (
	AlgHS256 = "HS256"
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// JWT configures JSON Web Token verification.
type JWT struct {
	// Secret is the HS256 key, at least 32 bytes (RFC 7518 §3.2). A secret: write env:NAME.
	Secret Secret `yaml:"secret"`
	// Algorithms accepted, a subset of HS256, RS256, ES256 and EdDSA. Default: HS256 when
	// Secret is set, plus RS256, ES256 and EdDSA when public keys or a JWKS URL are.
	Algorithms []string `yaml:"algorithms"`
	// Issuer, when set, must equal the token's iss.
	Issuer string `yaml:"issuer"`
	// Audience, when set, must be in the token's aud.
	Audience string `yaml:"audience"`
	// JWKSURL is an http(s) URL of a JSON Web Key Set, fetched and cached.
	JWKSURL string `yaml:"jwks_url"`
	// JWKSRefresh is how often the key set is fetched again. Default 5m; must be > 0 with
	// jwks_url (there is no "never": a withdrawn key would stay trusted).
	JWKSRefresh Duration `yaml:"jwks_refresh"`
	// PublicKeys are PEM files (RSA, ECDSA P-256 or Ed25519 public keys), relative to the config
	// file's directory.
	PublicKeys []string `yaml:"public_keys"`
	// Leeway is the clock skew allowed on exp and nbf. Default 30s; 0 means none (a token
	// is refused from the instant of its exp); must not be negative.
	Leeway Duration `yaml:"leeway"`
	// Require lists registered claims a token must carry: any of exp, nbf, iat, iss, aud, sub.
	// Default [exp], so that a token cannot be valid forever; [] accepts tokens without exp.
	Require []string `yaml:"require"`
}

// Enabled reports whether any JWT key source is configured.
func (j JWT) Enabled() bool { return j.Secret != "" || j.JWKSURL != "" || len(j.PublicKeys) > 0 }
