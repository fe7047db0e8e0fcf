package sqlexec

import (
	"context"
	"time"

	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/rowcodec"
)

// DB is one pool as the SQL backend uses it: a database's own pool, or an
// account's pool on that database (same types, its own role and timeout).
type DB struct {
	// Name labels errors and logs.
	Name string
	Pool *pool.Pool
	// Types resolves the database's enums, composites and domains; shared
	// by every pool on one database.
	Types *rowcodec.Types
	// Unnamed is statement_cache: describe (PgBouncer in transaction
	// mode): nothing named is prepared, every statement is parsed unnamed
	// in the message train that runs it.
	Unnamed bool
	// Timeout is the pool's statement_timeout: the server stops a
	// statement past it; the client-side deadline is a margin behind.
	Timeout time.Duration
	// ReadOnly pins each statement of a non-transactional batch read-only
	// (SET TRANSACTION READ ONLY), whatever an earlier one did to the
	// session's default.
	ReadOnly bool
	// RunBudget bounds how long a coalesced run (coalesce.go) holds its
	// connection: a run takes at most RunBudget divided by the statement's
	// recent connection time per request, so statements that are slow (or
	// blocked) never queue behind one another on one connection. 0 turns
	// coalescing off.
	RunBudget time.Duration
	// MaxRuns bounds the coalesced runs of one statement under way at
	// once (waiting for a connection or executing) while runs of several
	// fit in RunBudget; past it a new run keeps gathering requests until
	// one of them ends. Under load, runs grow instead of multiplying, and
	// one hot route takes at most MaxRuns connections (after a burst of
	// runs of one, once the runs under way have come back down to it).
	// 0: no bound.
	MaxRuns int
	// SlowQuery is the duration from which an execution (acquire
	// included, as the pool's slow-query count measures it) is reported
	// to SlowLog; 0 (default) reports none. The pool counts slow queries
	// either way (pool.Options.SlowQuery); this is the log line's hook.
	SlowQuery time.Duration
	// SlowLog is told of each execution that took SlowQuery or longer:
	// the statement's label (a route's name; "" for a raw query), its SQL
	// ("" for a batch) and how long it took. It runs on the releasing
	// goroutine after the connection went back to the pool, so it may log
	// but should not block. Set once, before the DB is used.
	SlowLog func(label, sql string, took time.Duration)
}

// noteSlow reports x's execution to SlowLog when it took SlowQuery or
// longer: a comparison on the fast path, the call only for a slow one.
func (db *DB) noteSlow(x *Rows, took time.Duration) {
	if db.SlowQuery > 0 && took >= db.SlowQuery && db.SlowLog != nil {
		db.SlowLog(x.label, x.sql, took)
	}
}

// deadlineMargin is how long after the server's statement_timeout the
// client gives up on a server that does not answer at all: the server's own
// timeout (SQLSTATE 57014) must normally fire first.
const deadlineMargin = 2 * time.Second

// withTimeout bounds one execution by timeout (the DB's when zero) plus
// deadlineMargin; no timeout at all leaves only cancellation.
func (db *DB) withTimeout(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout == 0 {
		timeout = db.Timeout
	}
	if timeout <= 0 {
		return context.WithCancel(parent)
	}
	return context.WithTimeout(parent, timeout+deadlineMargin)
}
