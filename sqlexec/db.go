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
