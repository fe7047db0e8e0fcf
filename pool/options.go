package pool

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxMessageBytes is MaxMessageBytes' default: 64 MiB.
const DefaultMaxMessageBytes = 64 << 20

// Options configures one Pool: one database, or one account that needs its
// own role, read-only mode, timeout or size. URL and MaxConns are required;
// every other field's zero value works and means what its doc says. Every
// field maps one-to-one onto a key of the `databases` (or `accounts`)
// section of the configuration; validation errors name that key.
//
// Defaults live in one place. The configuration's defaults (config.Default,
// documented in the config reference) are the user-facing contract, and the
// engine passes them through unchanged, so this package sets no default of
// its own for a field the configuration sets: a zero here means zero (off,
// none, or at once), never "the default". The exceptions are fields the
// configuration has no key for (MaxMessageBytes, Logger) and
// MaxConcurrentQueries' "0 means MaxConns", kept for account pools (see
// that field).
//
// Values given here override the same parameters in URL (pool_max_conns,
// connect_timeout, application_name, statement_timeout...); a zero
// ConnectTimeout, ApplicationName or StatementTimeout leaves the URL's. The
// lifecycle fields (MaxConnIdleTime, MaxConnLifetime, HealthCheckPeriod)
// always override the URL's pool_* parameters, zero (off) included.
type Options struct {
	// Name identifies the pool in errors, logs and stats: "main" for
	// databases.main, "account:acc_x" for an account's own pool. Operators
	// read it in "cannot acquire connection for ..." messages.
	Name string

	// URL is a postgres:// URL or a key=value DSN, as accepted by pgx.
	// Required.
	URL string

	// MaxConns is the number of server connections the pool may open.
	// Required (at least 1): it has no default here, as the configuration
	// always sets it (max_conns, default 20; an account's max_connections,
	// default 10). Each PostgreSQL backend costs several MB of server memory,
	// and throughput stops growing past a few connections per server core, so
	// raise it only when the database has idle cores under load.
	MaxConns int32

	// MinConns is the number of connections kept open even when idle, so the
	// first requests after a quiet period do not pay for a connect (a few
	// ms). Default 0. Must not exceed MaxConns.
	MinConns int32

	// MaxConcurrentQueries is the size of the gate in front of the pool: how
	// many callers may hold a connection (or wait inside the pool for one) at
	// once. 0 means MaxConns, which is right for nearly everyone. A value above
	// MaxConns lets that many extra callers queue inside the pool; their wait is
	// still bounded by AcquireTimeout (at the cost of one context allocation
	// per Acquire), which must then not be 0.
	//
	// The configuration also turns 0 into max_conns (config's Load), so for a
	// databases entry it arrives filled and the config's value wins; the rule
	// here serves account pools, whose size the engine takes from
	// max_connections and whose gate it leaves at 0, and callers without a
	// configuration (this package's tests).
	MaxConcurrentQueries int

	// AcquireTimeout bounds how long Acquire waits for a slot when the gate is
	// full before giving up with a *BusyError (HTTP 503 with Retry-After).
	// 0 refuses at once when no slot is free (no timer is armed). The
	// configuration's acquire_timeout defaults to 1s. Under overload a quick
	// refusal beats a pile-up: keep it well under the clients' own timeouts.
	AcquireTimeout time.Duration

	// StatementTimeout is sent as statement_timeout (in whole milliseconds,
	// rounded up) in the startup packet, so the server cancels any statement
	// running longer (SQLSTATE 57014, HTTP 504). 0 keeps the server's
	// default. Per-account query_timeout lands here.
	StatementTimeout time.Duration

	// ConnectTimeout bounds one connection attempt, TCP and authentication
	// included, and Ping when its context has no deadline. 0 leaves the URL's
	// connect_timeout in force, or no bound when the URL has none (pgx's
	// default). The configuration's connect_timeout defaults to 5s.
	ConnectTimeout time.Duration

	// MaxConnIdleTime closes a connection that has sat idle this long, at the
	// next health check (HealthCheckPeriod), while the pool keeps MinConns.
	// 0 never closes a connection for being idle; unlike pgxpool, whose own
	// default is 30m, so a zero here overrides the URL's
	// pool_max_conn_idle_time too. The configuration's idle_timeout defaults
	// to 30m. Lower it where an idle backend costs the server (one near its
	// max_connections, a PgBouncer pool); a quiet pool then pays one connect
	// (a few ms) on its next request.
	MaxConnIdleTime time.Duration

	// MaxConnLifetime closes a connection this long after it opened: when it
	// is next acquired or seen idle by a health check, whichever comes
	// first; a new connection replaces it on demand (or at once, below
	// MinConns). Replacing connections bounds what a long-lived backend
	// accumulates (catalog and plan caches, memory fragmentation) and moves
	// the pool to a server that took over a DNS name or a load balancer's
	// address. 0 keeps connections for good; unlike pgxpool, whose own
	// default is 1h, so a zero here overrides the URL's
	// pool_max_conn_lifetime too (its pool_max_conn_lifetime_jitter, which
	// spreads the closes, still applies). The configuration's max_lifetime
	// defaults to 1h.
	MaxConnLifetime time.Duration

	// HealthCheckPeriod is how often the pool looks at its idle connections:
	// it closes those past MaxConnIdleTime or MaxConnLifetime and opens
	// connections up to MinConns. 0 turns the periodic check off (pgxpool's
	// own default is 1m; the configuration's health_check_period defaults to
	// 1m): idle connections are then never closed for being idle, expired
	// ones only when acquired, and MinConns is restored only after a
	// connection is released or closed. A check costs no round trip.
	HealthCheckPeriod time.Duration

	// SlowQuery is the duration from which Observe counts a query as slow
	// (Stats.SlowQueries). 0 turns the counter off, as slow_query: 0 does in
	// the configuration, which passes its value (default 500ms) straight
	// through.
	SlowQuery time.Duration

	// ApplicationName is sent as application_name, which shows in
	// pg_stat_activity and the server log. Empty sends none, leaving the
	// URL's application_name, if any. The configuration's application_name
	// defaults to "pgfast".
	ApplicationName string

	// Settings are run-time parameters sent in the startup packet, so they
	// cost no round trip: planner settings (work_mem, random_page_cost,
	// enable_seqscan, effective_cache_size), TimeZone, search_path... Names
	// are checked for shape only; the server rejects unknown names or bad
	// values when the first connection opens, which Ping reports. The
	// parameters that have their own field (statement_timeout,
	// application_name, default_transaction_read_only, role) are refused here.
	Settings map[string]string

	// ReadOnly sends default_transaction_read_only=on, so every transaction
	// starts read-only and writes fail with SQLSTATE 25006 (HTTP 403). This is
	// a session default that SQL can change (see the package documentation):
	// pair it with a Role that has no write privileges.
	ReadOnly bool

	// Role makes connections run as this role, with SET ROLE semantics: it is
	// sent as the `role` parameter of the startup packet, which PostgreSQL
	// accepts and applies before the first query (no extra round trip), and
	// which RESET ROLE returns to. The URL's user must be allowed to SET ROLE
	// to it (a member of it, or a superuser). SQL can still leave it with
	// SET ROLE NONE: where privileges must hold whatever the client sends,
	// log in as the unprivileged role instead (see the package
	// documentation).
	Role string

	// MaxMessageBytes bounds one message from the server (a row, an error
	// with its detail): pgx reads a message whole, so without a bound one
	// `SELECT repeat('x', 900000000)` costs the process a gigabyte. A larger
	// message fails the query (IsMessageTooLarge) and closes the
	// connection. Default DefaultMaxMessageBytes.
	MaxMessageBytes int

	// ResetSession returns every connection to its start state after each
	// use, before another Acquire can get it: settings (reported or not),
	// role, LISTENs, advisory locks, temporary tables, cursors and
	// SQL-prepared statements (see resetSQL). The reset runs after Release
	// returns, on pgxpool's goroutine: it costs the releasing caller
	// nothing and the connection one round trip. Use it for pools whose
	// clients send their own SQL.
	ResetSession bool

	// DescribeOnly runs queries in pgx's QueryExecModeCacheDescribe: unnamed
	// statements only, with parameter and result types cached on the client,
	// so no named prepared statement outlives a transaction. Use it behind
	// PgBouncer in transaction mode (statement_cache: describe). AfterConnect
	// must then not prepare named statements either. PgBouncer refuses
	// unknown startup parameters unless listed in its
	// ignore_startup_parameters or track_extra_parameters; set such
	// parameters server side (ALTER ROLE ... SET) in that deployment.
	DescribeOnly bool

	// AfterConnect runs on each new connection after the startup parameters
	// are applied and before the connection is first handed out: the engine
	// prepares its route statements here. An error closes the connection and
	// fails the Acquire that opened it.
	AfterConnect func(ctx context.Context, conn *pgx.Conn) error

	// Logger receives connection-level events (failed connects, connections
	// discarded for changed session state, close). Nil discards them.
	Logger *slog.Logger
}

// reservedSettings are run-time parameters that Options sets through its own
// fields; a Settings entry for one of them would silently fight the field.
var reservedSettings = map[string]string{
	"statement_timeout":             "statement_timeout",
	"application_name":              "application_name",
	"default_transaction_read_only": "read_only",
	"role":                          "role",
	"session_authorization":         "role",
}

// withDefaults returns a copy of o with the package's few defaults applied:
// only for fields the configuration does not set (see Options).
func (o Options) withDefaults() Options {
	if o.MaxConcurrentQueries == 0 {
		o.MaxConcurrentQueries = int(o.MaxConns)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	return o
}

// Validate reports the first invalid field of o, after defaults are applied,
// as a *ConfigError naming the configuration key. It parses URL but does not
// connect.
func (o Options) Validate() error {
	o = o.withDefaults()
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Pool: o.Name, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if o.URL == "" {
		return bad("url", "is empty; give a postgres:// URL or a key=value DSN")
	}
	if _, err := pgxpool.ParseConfig(o.URL); err != nil {
		// pgconn's ParseConfigError redacts the password.
		return &ConfigError{Pool: o.Name, Field: "url", Reason: "cannot be parsed", Err: err}
	}
	switch {
	case o.MaxConns < 1:
		return bad("max_conns", "must be at least 1, got %d", o.MaxConns)
	case o.MinConns < 0 || o.MinConns > o.MaxConns:
		return bad("min_conns", "must be between 0 and max_conns (%d), got %d", o.MaxConns, o.MinConns)
	case o.MaxConcurrentQueries < 1:
		return bad("max_concurrent_queries", "must be at least 1 (0 means max_conns), got %d", o.MaxConcurrentQueries)
	case o.AcquireTimeout < 0:
		return bad("acquire_timeout", "must not be negative (0 refuses at once), got %s", o.AcquireTimeout)
	case o.StatementTimeout < 0:
		return bad("statement_timeout", "must not be negative (0 keeps the server's default), got %s", o.StatementTimeout)
	case o.ConnectTimeout < 0:
		return bad("connect_timeout", "must not be negative (0 leaves the URL's), got %s", o.ConnectTimeout)
	case o.SlowQuery < 0:
		return bad("slow_query", "must not be negative (0 turns it off), got %s", o.SlowQuery)
	case o.MaxConnIdleTime < 0:
		return bad("idle_timeout", "must not be negative (0 means never), got %s", o.MaxConnIdleTime)
	case o.MaxConnLifetime < 0:
		return bad("max_lifetime", "must not be negative (0 means never), got %s", o.MaxConnLifetime)
	case o.HealthCheckPeriod < 0:
		return bad("health_check_period", "must not be negative (0 turns it off), got %s", o.HealthCheckPeriod)
	case o.AcquireTimeout == 0 && o.MaxConcurrentQueries > int(o.MaxConns):
		// pgxpool gives up at once on a context that is already done, even
		// with a connection idle: the callers past max_conns need time to wait.
		return bad("max_concurrent_queries", "must not exceed max_conns (%d) when acquire_timeout is 0, got %d", o.MaxConns, o.MaxConcurrentQueries)
	}
	// Startup-packet strings are NUL-terminated on the wire.
	if strings.IndexByte(o.ApplicationName, 0) >= 0 {
		return bad("application_name", "must not contain a NUL byte")
	}
	if strings.IndexByte(o.Role, 0) >= 0 {
		return bad("role", "must not contain a NUL byte")
	}
	for name, value := range o.Settings {
		field := "settings." + name
		if own, ok := reservedSettings[strings.ToLower(name)]; ok {
			return bad(field, "is set by the %s option; use that instead", own)
		}
		if !validSettingName(name) {
			return bad(field, "is not a PostgreSQL parameter name (letters, digits, _ and . only)")
		}
		if strings.IndexByte(value, 0) >= 0 {
			return bad(field, "must not contain a NUL byte")
		}
	}
	return nil
}

// validSettingName reports whether name has the shape of a PostgreSQL
// parameter name, including custom "extension.name" ones.
func validSettingName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '$'):
		default:
			return false
		}
	}
	return true
}
