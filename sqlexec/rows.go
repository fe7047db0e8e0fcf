package sqlexec

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/pool"
)

// Rows is one running statement and the result being read from it, on a
// pooled connection it holds until Release. Fill encodes the rows into the
// caller's buffer a chunk at a time, so one Rows serves a body answered
// whole, a cache fill and a streamed body alike. A Rows is for one
// goroutine at a time and must be released exactly once.
type Rows struct {
	db   *DB
	conn *pool.Conn
	pl   *pgconn.Pipeline // when settings travel ahead of the statement
	rr   *pgconn.ResultReader
	// ctx is the caller's context, or one bounded by the timeout when the
	// caller's can be cancelled; cancel is nil for a caller's context that
	// cannot be (context.Background()): then the connection's socket
	// deadline bounds the execution instead, which costs no allocation.
	ctx      context.Context
	cancel   context.CancelFunc
	deadline bool // a socket deadline is set and must be cleared
	stop     *stopper
	stopFn   func() // Canceler's, made once per execution
	start    time.Time
	acquired time.Duration // AcquireWait
	enc      encoder
	// peeked: the first row was read ahead (to retry a statement whose
	// prepared plan went stale) and is the current row of rr.
	peeked bool
	begun  bool
	done   bool
	err    error // the result's error, when the peek already closed rr
	// sql and label name the statement for DB.SlowLog: the raw query's
	// or the route's text (a string header, no copy) and the route's name.
	sql, label string

	// Observer, when set, is told by Release how the execution ended (the
	// audit log's line).
	Observer Observer
}

// Observer learns how an execution ended: the rows written, its duration
// (acquire included) and its outcome (nil for a complete result).
type Observer interface {
	Released(rows int64, took time.Duration, err error)
}

// Start begins an execution on db: a connection and a context bounded by
// db's timeout. Canceler stops it from another goroutine (a client that
// went away) from this moment; Query or Batch runs a statement on it.
func (db *DB) Start(ctx context.Context) (*Rows, error) { return acquire(ctx, db, 0, time.Time{}) }

var rowsPool = sync.Pool{New: func() any { return new(Rows) }}

// cancelWait bounds the cancel request Release sends for a result it stops
// reading.
const cancelWait = time.Second

// acquire starts an execution on db: a connection, and its bound. A
// caller's context that can be cancelled gets a timeout of its own (the
// timeout, or the DB's, plus deadlineMargin); context.Background() gets a
// socket deadline at the same point instead, so that the common case
// allocates no context, timer or watcher per execution. A caller that has
// waited since queued already (a coalesced run queued for its turn; zero
// when it did not) has that wait counted against the acquire timeout.
func acquire(parent context.Context, db *DB, timeout time.Duration, queued time.Time) (*Rows, error) {
	x := rowsPool.Get().(*Rows)
	x.db, x.start = db, time.Now()
	x.ctx = parent
	if parent.Done() != nil {
		x.ctx, x.cancel = db.withTimeout(parent, timeout)
	}
	conn, err := db.Pool.AcquireSince(x.ctx, queued)
	if err != nil {
		if x.cancel != nil {
			x.cancel()
		}
		x.recycle()
		return nil, err
	}
	x.conn = conn
	x.acquired = time.Since(x.start)
	if x.cancel == nil {
		if timeout == 0 {
			timeout = db.Timeout
		}
		if timeout > 0 {
			// From now, not from x.start: the wait at the gate is
			// acquire_timeout's, and a statement gets its whole timeout.
			x.deadline = conn.PgConn().Conn().SetDeadline(time.Now().Add(timeout+deadlineMargin)) == nil
		}
	}
	return x, nil
}

// AcquireWait is how long the execution waited for its connection (the
// pool's gate included), for Server-Timing's acquire.
func (x *Rows) AcquireWait() time.Duration { return x.acquired }

// Fill appends encoded rows to dst until it holds more than limit bytes
// (limit <= 0: no limit) or the result ends. At the end (done) the result's
// tail is written and the statement has completed; the connection is still
// held until Release.
func (x *Rows) Fill(dst []byte, limit int) (out []byte, done bool, err error) {
	if !x.begun {
		x.begun = true
		dst = x.enc.head(dst)
	}
	for x.next() {
		if x.stop != nil && x.stop.stopped.Load() {
			return dst, false, ErrStopped
		}
		if dst, err = x.enc.row(dst, x.rr.Values()); err != nil {
			return dst, false, err
		}
		if limit > 0 && len(dst) > limit {
			return dst, false, nil
		}
	}
	x.done = true
	if err := x.closeResult(); err != nil {
		return dst, false, err
	}
	return x.enc.tail(dst, time.Since(x.start)), true, nil
}

// NoRows reports, once Fill is done, that a One or Value result had no
// row (a 404 for a route).
func (x *Rows) NoRows() bool {
	return x.done && x.enc.rows == 0 && (x.enc.enc.Shape == One || x.enc.enc.Shape == Value)
}

// Count is the number of rows written so far.
func (x *Rows) Count() int64 { return x.enc.rows }

func (x *Rows) next() bool {
	if x.peeked {
		x.peeked = false
		return true
	}
	return x.rr != nil && x.rr.NextRow()
}

// peek reads the first row ahead: a statement whose plan went stale fails
// there, before anything was encoded, and can be retried.
func (x *Rows) peek() error {
	if x.rr.NextRow() {
		x.peeked = true
		return nil
	}
	_, x.err = x.rr.Close()
	x.rr = nil
	return x.err
}

// closeResult completes the statement (and the settings pipeline) and
// returns the first error the server reported.
func (x *Rows) closeResult() error {
	err := x.err
	if x.rr != nil {
		if _, cerr := x.rr.Close(); err == nil {
			err = cerr
		}
		x.rr = nil
	}
	if x.pl != nil {
		if cerr := x.pl.Close(); err == nil {
			err = cerr
		}
		x.pl = nil
	}
	return err
}

// Release ends the execution: a statement whose result was not read to its
// end is cancelled on the server rather than read out, the connection goes
// back to its pool, and OnRelease records outcome (nil for a complete
// result). x must not be used afterwards.
func (x *Rows) Release(outcome error) {
	if x.db == nil {
		panic("BUG: sqlexec: Rows released twice or used after Release")
	}
	cancelLost := false
	if x.stop != nil {
		cancelLost = x.stop.release()
	}
	if !x.done && x.rr != nil {
		// A result still being read: ask the server to stop it, then read
		// to the cancellation. (An error before any result, or a result read
		// to its end, needs no cancel: the connection is already idle.)
		cancelLost = !cancelRequest(x.conn.PgConn()) || cancelLost
	}
	if cancelLost {
		// A cancel the server acknowledged has signalled the backend, and
		// one that reaches an idle backend is dropped before its next
		// command runs (PostgresMain resets it). One the server did not
		// acknowledge may still be on its way, and would then stop
		// whatever the connection runs next: another request's statement.
		// The connection is closed instead of going back to the pool
		// (which drops a closed one).
		ctx, cancel := context.WithTimeout(context.Background(), cancelWait)
		_ = x.conn.PgConn().Close(ctx)
		cancel()
	}
	x.closeResult()
	took := time.Since(x.start)
	if x.deadline {
		_ = x.conn.PgConn().Conn().SetDeadline(time.Time{})
	}
	x.db.Pool.Observe(took)
	x.db.noteSlow(x, took)
	x.conn.Release()
	if x.cancel != nil {
		x.cancel()
	}
	if x.Observer != nil {
		x.Observer.Released(x.enc.rows, took, outcome)
	}
	x.recycle()
}

func (x *Rows) recycle() {
	*x = Rows{}
	rowsPool.Put(x)
}

// cancelRequest asks the server to cancel pc's statement and reports
// whether the server acknowledged it (closed the cancel connection) within
// cancelWait. pgconn's CancelRequest returns nil when its wait for the
// acknowledgement times out, so the context tells.
func cancelRequest(pc *pgconn.PgConn) (acknowledged bool) {
	ctx, cancel := context.WithTimeout(context.Background(), cancelWait)
	defer cancel()
	return pc.CancelRequest(ctx) == nil && ctx.Err() == nil
}

// Canceler returns the function that stops the execution from another
// goroutine (a client that went away): the running statement is cancelled
// on the server and every later step of x fails with ErrStopped. Unlike
// the Rows, it stays safe to call after Release: it then does nothing,
// even once the stopper serves another execution.
func (x *Rows) Canceler() func() {
	if x.stopFn == nil {
		s, gen := acquireStopper(x.conn.PgConn(), x.cancel)
		x.stop = s
		x.stopFn = func() { s.stopNow(gen) }
	}
	return x.stopFn
}

// ErrStopped is an execution stopped through its Canceler.
var ErrStopped = errors.New("sqlexec: execution stopped by its caller")

// stopper stops an execution from another goroutine. It refers to the
// connection only while the Rows holds it: release (at Release) cuts it
// off under the lock, so a late stop never cancels another execution's
// statement on the same connection.
//
// Stoppers are pooled, so each serves one execution after another; gen
// numbers them. A Canceler's func carries the gen it was made for and
// does nothing once gen has moved on: a late call from a watcher of an
// execution that ended cannot stop the next one.
type stopper struct {
	stopped atomic.Bool // read by the execution's goroutine without the lock
	mu      sync.Mutex
	gen     uint64
	pc      *pgconn.PgConn
	cancel  context.CancelFunc
	// lost: a CancelRequest sent for this generation was not
	// acknowledged (see Release).
	lost bool
}

var stoppers = sync.Pool{New: func() any { return new(stopper) }}

// acquireStopper takes a stopper for the execution on pc (and its
// context's cancel, if any) and returns it with its current gen.
func acquireStopper(pc *pgconn.PgConn, cancel context.CancelFunc) (*stopper, uint64) {
	s := stoppers.Get().(*stopper)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pc, s.cancel = pc, cancel
	s.stopped.Store(false)
	return s, s.gen
}

// stopNow stops the execution of generation gen, if s still serves it.
func (s *stopper) stopNow(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	s.stopped.Store(true)
	if s.cancel != nil {
		s.cancel()
	}
	if s.pc != nil {
		s.lost = !cancelRequest(s.pc) || s.lost
	}
}

// release ends s's generation, which voids every func made for it, puts s
// back in the pool and reports whether a cancel it sent went
// unacknowledged. s must not be used afterwards.
func (s *stopper) release() (cancelLost bool) {
	s.mu.Lock()
	s.gen++
	s.pc, s.cancel = nil, nil
	cancelLost, s.lost = s.lost, false
	s.mu.Unlock()
	stoppers.Put(s)
	return cancelLost
}

// checkStopped reports ErrStopped once the Canceler ran.
func (x *Rows) checkStopped() error {
	if x.stop != nil && x.stop.stopped.Load() {
		return ErrStopped
	}
	return nil
}
