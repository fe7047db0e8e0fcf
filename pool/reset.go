package pool

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// resetSQL returns a connection to the state it had right after connect,
// whatever the last request ran on it. It is one simple-protocol message:
// one round trip, run as one implicit transaction.
//
//   - CLOSE ALL drops cursors, WITH HOLD ones included.
//   - SET SESSION AUTHORIZATION DEFAULT undoes a superuser login's
//     SET SESSION AUTHORIZATION; with RESET ALL it also brings `role` back
//     to the startup packet's value (Options.Role), not to the login user.
//   - RESET ALL returns every setting to its session default, which is the
//     startup packet's value (statement_timeout, read-only mode, Settings)
//     or the server's: work_mem, search_path, set_config(…, false) alike.
//   - UNLISTEN * and pg_advisory_unlock_all() end LISTENs and session-level
//     advisory locks (transaction-level ones ended with the transaction).
//   - DISCARD TEMP drops temporary tables; DISCARD SEQUENCES forgets
//     currval/lastval.
//   - The last statement lists statements prepared with SQL PREPARE, which
//     resetSession then deallocates (a second round trip, only when there
//     are some). Statements prepared through the protocol are the engine's
//     own cache, which is why this is not DISCARD ALL: that would empty the
//     cache and cost a PREPARE round trip on the next request of every
//     connection.
//
// A custom placeholder setting (my.x) keeps existing with an empty value
// after RESET ALL: its value is gone, the name stays until the backend ends.
const resetSQL = `CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; ` +
	`SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES; ` +
	`SELECT name FROM pg_prepared_statements WHERE from_sql`

// resetTimeout bounds one reset; a connection that cannot be reset in time
// is closed instead of reused.
const resetTimeout = 5 * time.Second

// resetSession is pgxpool's AfterRelease hook for pools with ResetSession:
// pgxpool runs it on its own goroutine, so the request that released the
// connection does not wait for the round trip; the connection goes back to
// the pool only when it returns true, and is closed otherwise.
func (p *Pool) resetSession(conn *pgx.Conn) bool {
	// A socket deadline bounds the reset rather than a context: it costs
	// no context, timer or watcher per reset, and a reset that overruns it
	// breaks the connection, which is then closed (the same outcome).
	pc := conn.PgConn()
	err := pc.Conn().SetDeadline(time.Now().Add(resetTimeout))
	if err == nil {
		err = p.resetQuery(context.Background(), pc)
	}
	if err == nil {
		err = pc.Conn().SetDeadline(time.Time{})
	}
	if err != nil {
		p.discarded.Add(1)
		p.log.Warn("pool: cannot reset a connection's session; closing it", "pool", p.opts.Name, "err", err)
		return false
	}
	p.resets.Add(1)
	// Behind PgBouncer (DescribeOnly) RESET ALL restores the server
	// connection's own application_name, which PgBouncer set, not ours:
	// harmless, and checking it would close every connection after use.
	skip := ""
	if p.opts.DescribeOnly {
		skip = "application_name"
	}
	if name := sessionChangedExcept(pc, skip); name != "" {
		// Something the reset does not cover (a reported parameter that
		// RESET ALL cannot restore): never hand the connection out again.
		p.discarded.Add(1)
		p.log.Warn("pool: session state survived the reset; closing the connection",
			"pool", p.opts.Name, "parameter", name, "value", pc.ParameterStatus(name))
		return false
	}
	return true
}

// resetQuery runs resetSQL, then deallocates the SQL-prepared statements
// it listed.
// Results are read as they come rather than collected (ReadAll would copy
// every result): only the last statement returns rows, the names of the
// SQL-prepared statements, usually none.
func (p *Pool) resetQuery(ctx context.Context, pc *pgconn.PgConn) error {
	mrr := pc.Exec(ctx, resetSQL)
	var b strings.Builder
	for mrr.NextResult() {
		b.Reset() // only the last result's rows name statements
		rr := mrr.ResultReader()
		for rr.NextRow() {
			b.WriteString("DEALLOCATE ")
			b.WriteString(pgx.Identifier{string(rr.Values()[0])}.Sanitize())
			b.WriteString(";")
		}
		if _, err := rr.Close(); err != nil {
			mrr.Close()
			return err
		}
	}
	if err := mrr.Close(); err != nil || b.Len() == 0 {
		return err
	}
	return pc.Exec(ctx, b.String()).Close()
}
