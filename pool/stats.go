package pool

import (
	"time"
)

// Stats is a snapshot of a Pool's counters and gauges, combining pgxpool's
// own statistics with the gate's. Counters are cumulative since New; the
// engine renders them as pgfast_pool_* metrics and in /admin/stats.
type Stats struct {
	// Name is Options.Name.
	Name string
	// MaxConns is the pool size.
	MaxConns int32
	// InUse is the number of connections acquired now.
	InUse int32
	// Idle is the number of open connections nobody holds.
	Idle int32
	// Total is the number of open connections, including ones being opened.
	Total int32
	// NewConns counts connections opened.
	NewConns int64
	// Discarded counts connections closed on release because a query changed
	// their session state (see Conn.Release) or their reset failed.
	Discarded int64
	// Resets counts sessions returned to their start state (ResetSession).
	Resets int64

	// AcquireCount counts successful acquires.
	AcquireCount int64
	// EmptyAcquireCount counts successful acquires that found the pool
	// itself empty once past the gate: they waited for a connection to be
	// opened or released (pgxpool's own count). 1 - EmptyAcquireCount /
	// AcquireCount is the pool's efficiency. Waits at the gate are counted
	// apart, in GateWaitCount: the gate is admission control in front of the
	// pool, and a wait there says the load exceeds max_concurrent_queries,
	// not that the pool failed to have a connection ready.
	EmptyAcquireCount int64
	// GateWaitCount counts successful acquires that waited at the full gate.
	GateWaitCount int64
	// AcquireWait is the total time successful acquires spent in Acquire.
	AcquireWait time.Duration
	// CanceledAcquireCount counts acquires abandoned because their context
	// ended or the pool closed.
	CanceledAcquireCount int64

	// GateSize is MaxConcurrentQueries.
	GateSize int
	// GateWaiting is the number of callers waiting at the gate now.
	GateWaiting int64
	// GateRejected counts acquires refused with a *BusyError.
	GateRejected int64

	// Queries counts queries passed to Observe.
	Queries int64
	// SlowQueries counts those that took SlowQuery or longer; none when
	// SlowQuery is 0 (off).
	SlowQueries int64
	// QueryEMA is the exponential moving average of their durations.
	QueryEMA time.Duration
}

// Stats returns a snapshot. It allocates (pgxpool builds its own snapshot);
// call it from metrics scrapes, not per request.
func (p *Pool) Stats() Stats {
	ps := p.pool.Stat()
	g := p.gate
	return Stats{
		Name:                 p.opts.Name,
		MaxConns:             ps.MaxConns(),
		InUse:                ps.AcquiredConns(),
		Idle:                 ps.IdleConns(),
		Total:                ps.TotalConns(),
		NewConns:             ps.NewConnsCount(),
		Discarded:            p.discarded.Load(),
		Resets:               p.resets.Load(),
		AcquireCount:         ps.AcquireCount(),
		EmptyAcquireCount:    ps.EmptyAcquireCount(),
		GateWaitCount:        g.waited.Load(),
		AcquireWait:          ps.AcquireDuration() + time.Duration(g.waitNanos.Load()),
		CanceledAcquireCount: ps.CanceledAcquireCount() + g.canceled.Load(),
		GateSize:             g.size(),
		GateWaiting:          g.waiting.Load(),
		GateRejected:         g.rejected.Load(),
		Queries:              p.queries.Load(),
		SlowQueries:          p.slowQueries.Load(),
		QueryEMA:             time.Duration(p.emaNanos.Load()),
	}
}

// emaShift sets the EMA's weight for a new sample to 1/8, the gain TCP uses
// for its smoothed round-trip time (RFC 6298, section 2): recent enough to
// follow a change in load within a few dozen queries, smooth enough that one
// outlier barely moves it.
const emaShift = 3

// Observe records one query's duration: it counts the query, counts it as
// slow from Options.SlowQuery on, and folds it into the EMA that
// Retry-After estimates use. It is lock-free and allocates nothing.
func (p *Pool) Observe(d time.Duration) {
	d = max(d, 0)
	p.queries.Add(1)
	if p.opts.SlowQuery > 0 && d >= p.opts.SlowQuery {
		p.slowQueries.Add(1)
	}
	for {
		old := p.emaNanos.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)>>emaShift
		}
		if p.emaNanos.CompareAndSwap(old, next) {
			return
		}
	}
}
