package pool

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
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
//   - The last statement lists, as ready DEALLOCATE statements, those
//     prepared with SQL PREPARE, which resetSession then runs (a second
//     round trip, only when there are some). format's %I quotes each name
//     by the server's own rules. Statements prepared through the protocol
//     are the engine's own cache, which is why this is not DISCARD ALL:
//     that would empty the cache and cost a PREPARE round trip on the
//     next request of every connection.
//
// The SELECTs name pg_catalog's objects in full, so that no search_path a
// session default may hold can stand in for them. The list is its own
// statement: folding it into the first SELECT as a string_agg subquery
// measured about a quarter slower (planning the aggregate).
//
// A custom placeholder setting (my.x) keeps existing with an empty value
// after RESET ALL: its value is gone, the name stays until the backend ends.
const resetSQL = `CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; ` +
	`SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES; ` +
	`SELECT pg_catalog.format('DEALLOCATE %I', name) FROM pg_catalog.pg_prepared_statements WHERE from_sql`

// deallocSet is the result set of resetSQL that holds the DEALLOCATE
// statements: the second SELECT's.
const deallocSet = 1

// resetMsg is resetSQL as a protocol message, made once: sending it copies
// it into the connection's write buffer and keeps nothing, so every
// connection can send the same one.
var resetMsg = pgproto3.Query{String: resetSQL}

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
		err = resetQuery(context.Background(), pc)
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

// resetQuery runs resetSQL, then the DEALLOCATE statements it returned,
// if any. The common case, none, allocates nothing.
func resetQuery(ctx context.Context, pc *pgconn.PgConn) error {
	var dealloc []byte
	err := simpleQuery(ctx, pc, &resetMsg, func(set int, values [][]byte) {
		if set == deallocSet && len(values) == 1 {
			dealloc = append(append(dealloc, values[0]...), ';')
		}
	})
	if err != nil || len(dealloc) == 0 {
		return err
	}
	if err := simpleQuery(ctx, pc, &pgproto3.Query{String: string(dealloc)}, nil); err != nil {
		return fmt.Errorf("cannot deallocate SQL-prepared statements: %w", err)
	}
	return nil
}

// simpleQuery sends q through the simple protocol and reads every message
// up to the ReadyForQuery that ends it, and returns the first error the
// server reported. Each row goes to row (when not nil) with the index of
// its result set among those that return rows; its values are only valid
// during the call.
//
// It works on the wire messages rather than through PgConn.Exec, which
// makes a CommandTag string for each statement: a reset is eight of them
// per request. The connection is idle, pgxpool hands it to no one during
// AfterRelease, and ReceiveMessage locks it for each read.
func simpleQuery(ctx context.Context, pc *pgconn.PgConn, q *pgproto3.Query, row func(set int, values [][]byte)) error {
	fe := pc.Frontend()
	fe.SendQuery(q)
	if err := fe.Flush(); err != nil {
		return err
	}
	var pgErr error
	set := -1
	for {
		msg, err := pc.ReceiveMessage(ctx)
		if err != nil {
			if pgErr != nil {
				return pgErr // a FATAL error ends the connection right after
			}
			return err
		}
		switch msg := msg.(type) {
		case *pgproto3.RowDescription:
			set++
		case *pgproto3.DataRow:
			if row != nil {
				row(set, msg.Values)
			}
		case *pgproto3.ErrorResponse:
			if pgErr == nil {
				pgErr = pgconn.ErrorResponseToPgError(msg)
			}
		case *pgproto3.ReadyForQuery:
			return pgErr
		}
	}
}
