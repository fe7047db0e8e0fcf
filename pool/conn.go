package pool

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Conn is a connection acquired from a Pool, holding one slot of its gate.
// It must be released exactly once with Release and must not be used (nor
// the *pgx.Conn or *pgconn.PgConn taken from it) afterwards: the Conn value
// itself is recycled for a later Acquire. A Conn is for one goroutine at a
// time.
type Conn struct {
	noCopy noCopy //nolint:unused // makes go vet flag copies

	pc *pgxpool.Conn
	p  *Pool
}

// connPool recycles Conn wrappers so that Acquire and Release allocate
// nothing in the steady state.
var connPool = sync.Pool{New: func() any { return new(Conn) }}

// Conn returns the pgx connection, valid until Release.
func (c *Conn) Conn() *pgx.Conn { return c.pc.Conn() }

// PgConn returns the low-level connection (for ResultReader-based
// streaming), valid until Release.
func (c *Conn) PgConn() *pgconn.PgConn { return c.pc.Conn().PgConn() }

// Release gives the connection back to the pool and the slot back to the
// gate, in that order, so the next caller through the gate usually finds the
// connection idle (with ResetSession it comes back only after its reset, so
// that caller may wait for it inside pgxpool). A connection left broken,
// busy or inside a transaction is closed instead of reused (pgxpool's rule).
// Without ResetSession, so is one whose reported session state (read-only
// mode, identity, encoding settings) no longer matches how it was opened: a
// statement such as `SET default_transaction_read_only = off` or
// `SET ROLE NONE` must not leak into the next request that borrows the
// connection.
func (c *Conn) Release() {
	pc, p := c.pc, c.p
	if pc == nil {
		panic("BUG: pool: Conn released twice or used after Release")
	}
	c.pc, c.p = nil, nil
	connPool.Put(c)
	if !p.opts.ResetSession {
		// A resetting pool restores the session instead (resetSession).
		p.checkSession(pc.Conn())
	}
	pc.Release()
	p.gate.leave()
}

// checkSession closes conn when a watched session parameter drifted from
// its baseline; pgxpool then destroys it on release.
func (p *Pool) checkSession(conn *pgx.Conn) {
	if conn.IsClosed() {
		return
	}
	name := sessionChanged(conn.PgConn())
	if name == "" {
		return
	}
	p.discarded.Add(1)
	p.log.Warn("pool: discarding connection whose session state was changed by a query",
		"pool", p.opts.Name, "parameter", name, "value", conn.PgConn().ParameterStatus(name))
	ctx, cancel := context.WithTimeout(context.Background(), cancelGrace)
	_ = conn.Close(ctx)
	cancel()
}

// noCopy lets go vet's copylocks check flag copies of the struct holding it.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
