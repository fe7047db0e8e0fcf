package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pool is a pgx connection pool behind a gate of MaxConcurrentQueries slots
// with a bounded wait. Its methods are safe for concurrent use, and safe to
// call after Close (they then fail with ErrClosed).
type Pool struct {
	opts Options
	log  *slog.Logger
	pool *pgxpool.Pool
	gate *gate

	// poolBounded is set when the gate is larger than the pool, so that a
	// caller past the gate may wait inside pgxpool: that wait is then bounded
	// by what is left of AcquireTimeout.
	poolBounded bool
	// gateSetting and poolSetting are the configuration keys named in
	// BusyError messages, built once.
	gateSetting string
	poolSetting string

	queries     atomic.Int64
	slowQueries atomic.Int64
	emaNanos    atomic.Int64
	discarded   atomic.Int64
	resets      atomic.Int64

	closed    atomic.Bool
	done      chan struct{}
	closeOnce sync.Once
}

// New validates opts and builds the pool. It does not connect: connections
// open on first use (and MinConns of them in the background), so a database
// that is down does not stop the server from starting; call Ping to check
// that it is reachable and that the startup settings are accepted. Invalid
// options come back as a *ConfigError. ctx only carries values to the
// background connects; its cancellation is ignored.
func New(ctx context.Context, opts Options) (*Pool, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	p := &Pool{
		opts:        o,
		log:         o.Logger,
		gate:        newGate(o.MaxConcurrentQueries),
		poolBounded: o.MaxConcurrentQueries > int(o.MaxConns),
		gateSetting: settingPath(o.Name, "max_concurrent_queries"),
		poolSetting: settingPath(o.Name, "max_conns"),
		done:        make(chan struct{}),
	}
	var afterRelease func(*pgx.Conn) bool
	if o.ResetSession {
		afterRelease = p.resetSession
	}
	cfg, err := poolConfig(o, p.afterConnect, afterRelease)
	if err != nil {
		return nil, err
	}
	// Ping's bound is the connect timeout in force: the URL's
	// connect_timeout when ConnectTimeout is 0.
	p.opts.ConnectTimeout = cfg.ConnConfig.ConnectTimeout
	p.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pool: cannot create pool %q: %w", o.Name, err)
	}
	return p, nil
}

// Name returns Options.Name.
func (p *Pool) Name() string { return p.opts.Name }

// AcquireTimeout is how long Acquire waits for a slot and a connection
// before it gives up (Options.AcquireTimeout); 0: it never waits, and
// refuses at once when no slot is free.
func (p *Pool) AcquireTimeout() time.Duration { return p.opts.AcquireTimeout }

// Slots is the size of the gate: how many callers hold a connection (or
// wait for one past the gate) at once (Options.MaxConcurrentQueries).
func (p *Pool) Slots() int { return p.gate.size() }

// Acquire waits for a slot at the gate, then takes a connection from the
// pool. When no slot frees up within AcquireTimeout it returns a *BusyError
// (see IsBusy and RetryAfter); when ctx ends first it returns ctx's error,
// wrapped; after Close it returns ErrClosed, wrapped. The caller must
// Release the Conn exactly once.
func (p *Pool) Acquire(ctx context.Context) (*Conn, error) {
	return p.acquire(ctx, time.Time{})
}

// AcquireSince is Acquire for a caller that has waited since since already
// (a coalesced run that queued for its turn): AcquireTimeout counts from
// since, so the caller's requests meet their BusyError after
// AcquireTimeout in all, not after the earlier wait and a whole
// AcquireTimeout more.
func (p *Pool) AcquireSince(ctx context.Context, since time.Time) (*Conn, error) {
	return p.acquire(ctx, since)
}

// acquire is Acquire from since (zero: from now).
func (p *Pool) acquire(ctx context.Context, since time.Time) (*Conn, error) {
	if p.closed.Load() {
		return nil, p.acquireError(ErrClosed)
	}
	start, timeout := since, p.opts.AcquireTimeout
	if start.IsZero() {
		if p.poolBounded {
			start = time.Now()
		}
	} else if timeout > 0 {
		timeout -= time.Since(start) // spent (<= 0): refuse at once when full
	}
	waited, err := p.gate.enter(ctx, p.done, timeout)
	if err != nil {
		if err == errGateTimeout {
			if !since.IsZero() {
				waited = time.Since(since)
			}
			return nil, p.busy(p.gate.size(), p.gateSetting, waited)
		}
		return nil, p.acquireError(err)
	}
	pc, err := p.acquirePool(ctx, start)
	if err != nil {
		p.gate.leave()
		return nil, err
	}
	c := connPool.Get().(*Conn)
	c.pc, c.p = pc, p
	return c, nil
}

// acquirePool takes a connection from pgxpool, bounding the wait by what is
// left of AcquireTimeout when the gate lets more callers through than there
// are connections (start is when Acquire began).
func (p *Pool) acquirePool(ctx context.Context, start time.Time) (*pgxpool.Conn, error) {
	if !p.poolBounded {
		pc, err := p.pool.Acquire(ctx)
		if err != nil {
			return nil, p.acquireError(err)
		}
		return pc, nil
	}
	bctx, cancel := context.WithDeadline(ctx, start.Add(p.opts.AcquireTimeout))
	defer cancel()
	pc, err := p.pool.Acquire(bctx)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, p.busy(int(p.opts.MaxConns), p.poolSetting, time.Since(start))
		}
		return nil, p.acquireError(err)
	}
	return pc, nil
}

// busy builds the BusyError for a wait that ran out of time.
func (p *Pool) busy(limit int, setting string, waited time.Duration) *BusyError {
	return &BusyError{
		Pool:       p.opts.Name,
		Limit:      limit,
		Setting:    setting,
		Timeout:    p.opts.AcquireTimeout,
		Waited:     waited,
		RetryAfter: retryAfter(p.gate.waiting.Load(), time.Duration(p.emaNanos.Load()), p.gate.size()),
	}
}

// acquireError wraps err with the pool's name, reporting ErrClosed for any
// failure after Close.
func (p *Pool) acquireError(err error) error {
	if p.closed.Load() && !errors.Is(err, ErrClosed) {
		err = ErrClosed
	}
	return fmt.Errorf("pool: cannot acquire connection for %q: %w", p.opts.Name, err)
}

// Ping checks that the database answers and accepts the pool's startup
// settings, on a pooled connection. It bypasses the gate, so a health check
// is not refused while the gate is full; it does wait for a connection when
// all of them are in use. Without a deadline on ctx it is bounded by
// ConnectTimeout (or the URL's connect_timeout), if any.
func (p *Pool) Ping(ctx context.Context) error {
	if p.closed.Load() {
		return fmt.Errorf("pool: cannot ping %q: %w", p.opts.Name, ErrClosed)
	}
	if _, ok := ctx.Deadline(); !ok && p.opts.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.opts.ConnectTimeout)
		defer cancel()
	}
	if err := p.pool.Ping(ctx); err != nil {
		if p.closed.Load() {
			err = ErrClosed
		}
		return fmt.Errorf("pool: cannot ping %q: %w", p.opts.Name, err)
	}
	return nil
}

// Reset closes every idle connection and marks the acquired ones to be
// closed when released, leaving the pool open: new connections pick up the
// server's current state. The engine calls it on reload.
func (p *Pool) Reset() { p.pool.Reset() }

// Close stops the pool: Acquire and Ping fail with ErrClosed from then on,
// callers waiting at the gate are woken with ErrClosed, and Close blocks
// until every acquired connection has been released, then closes all
// connections. It is idempotent. Shut the HTTP server down first, so that
// in-flight requests can finish and release their connections.
func (p *Pool) Close() {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.done)
		p.pool.Close()
		p.log.Debug("pool: closed", "pool", p.opts.Name)
	})
}
