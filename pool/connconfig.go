package pool

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"
)

// cancelGrace is how long a cancelled query may take to stop after the
// CancelRequest is sent before the socket deadline breaks the read and the
// connection is discarded. PostgreSQL answers a cancel within milliseconds;
// a second covers a slow network without holding a dead request for long.
const cancelGrace = time.Second

// pgxCacheSize bounds pgx's per-connection statement (or description) cache,
// which only pgx.Conn's Query fills: role checks, tests, tools.
const pgxCacheSize = 16

// poolConfig turns validated, defaulted options into a pgxpool.Config. Every
// session parameter goes into the startup packet (ConnConfig.RuntimeParams),
// which the server applies while it authenticates: no SET round trip per
// connection, and the values become the session defaults that RESET returns
// to (pg_settings.source = 'client').
func poolConfig(o Options, afterConnect func(context.Context, *pgx.Conn) error, afterRelease func(*pgx.Conn) bool) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, &ConfigError{Pool: o.Name, Field: "url", Reason: "cannot be parsed", Err: err}
	}
	cfg.MaxConns = o.MaxConns
	cfg.MinConns = o.MinConns
	// pgxpool reads a zero differently for each: MaxConnLifetime 0 never
	// expires, MaxConnIdleTime 0 would close every idle connection at each
	// check, and HealthCheckPeriod 0 panics in time.NewTicker. Zero means
	// off here (see Options), so the last two get a period that never ends.
	cfg.MaxConnLifetime = o.MaxConnLifetime
	cfg.MaxConnIdleTime = orNever(o.MaxConnIdleTime)
	cfg.HealthCheckPeriod = orNever(o.HealthCheckPeriod)
	cc := cfg.ConnConfig
	if o.ConnectTimeout > 0 {
		cc.ConnectTimeout = o.ConnectTimeout
	}
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = make(map[string]string)
	}
	for k, v := range o.Settings {
		cc.RuntimeParams[k] = v
	}
	if o.ApplicationName != "" {
		cc.RuntimeParams["application_name"] = o.ApplicationName
	}
	if o.StatementTimeout > 0 {
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(ceilMillis(o.StatementTimeout), 10)
	}
	if o.ReadOnly {
		cc.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if o.Role != "" {
		// PostgreSQL applies startup-packet options inside the backend's
		// first transaction (InitPostgres, process_startup_options), so the
		// role's catalog lookup and membership check succeed there: no
		// SET ROLE round trip is needed, and RESET ROLE returns to this role
		// rather than to the login user.
		cc.RuntimeParams["role"] = o.Role
	}
	// pgx keeps its own statement and description caches per connection,
	// each a map made at its full capacity (512 by default: ~25 KB a map).
	// pgfast's statements never go through them (route statements are
	// prepared by name, raw SQL through sqlexec's cache); only pgx.Conn's
	// own Query does, on cold paths. So each connection gets the one cache
	// its mode reads, small: 50 connections otherwise hold 2.5 MB of empty
	// maps, which the GC's heap goal doubles.
	if o.DescribeOnly {
		// Unnamed statements only; descriptions are cached on the client so
		// a query is still one round trip (DescribeExec would take two).
		cc.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	sizePgxCaches(cc, o.URL)
	// pgx's default reaction to a cancelled context is to break the socket,
	// which leaves the query running on the server until it next writes. A
	// CancelRequest stops it there too: a client that hangs up on a slow
	// query must not keep a backend busy.
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: cancelGrace}
	}
	maxMessage := o.MaxMessageBytes
	cc.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		f := pgproto3.NewFrontend(r, w)
		f.SetMaxBodyLen(maxMessage)
		return f
	}
	cfg.AfterConnect = afterConnect
	cfg.AfterRelease = afterRelease
	return cfg, nil
}

// sizePgxCaches gives pgx's statement or description cache, whichever
// the connection's exec mode reads (the URL may choose one with
// default_query_exec_mode), pgxCacheSize entries and the other none,
// unless the URL sets a capacity itself.
func sizePgxCaches(cc *pgx.ConnConfig, url string) {
	stmt, desc := 0, 0
	switch cc.DefaultQueryExecMode {
	case pgx.QueryExecModeCacheStatement:
		stmt = pgxCacheSize
	case pgx.QueryExecModeCacheDescribe:
		desc = pgxCacheSize
	}
	if !strings.Contains(url, "statement_cache_capacity") {
		cc.StatementCacheCapacity = stmt
	}
	if !strings.Contains(url, "description_cache_capacity") {
		cc.DescriptionCacheCapacity = desc
	}
}

// never is a duration no timer reaches (the runtime clamps its deadline).
const never = time.Duration(math.MaxInt64)

// orNever returns d, or never for 0.
func orNever(d time.Duration) time.Duration {
	if d == 0 {
		return never
	}
	return d
}

// ceilMillis rounds d up to whole milliseconds, the unit of statement_timeout,
// so a sub-millisecond timeout does not become 0 (no timeout at all).
func ceilMillis(d time.Duration) int64 {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond != 0 {
		ms++
	}
	return ms
}

// afterConnect runs the user's hook, then records the session baseline
// that Release checks against.
func (p *Pool) afterConnect(ctx context.Context, conn *pgx.Conn) error {
	if p.opts.AfterConnect != nil {
		if err := p.opts.AfterConnect(ctx, conn); err != nil {
			p.log.Warn("pool: connection setup failed", "pool", p.opts.Name, "err", err)
			return fmt.Errorf("cannot run AfterConnect: %w", err)
		}
	}
	recordSession(conn.PgConn())
	return nil
}
