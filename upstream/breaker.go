package upstream

import (
	"sync"
	"sync/atomic"
	"time"
)

// BreakerState is a circuit breaker's state, numbered as the
// pgfast_upstream_breaker_state metric reports it.
type BreakerState int32

const (
	// BreakerClosed lets every request through.
	BreakerClosed BreakerState = 0
	// BreakerHalfOpen lets Breaker.HalfOpenRequests probes through at a
	// time.
	BreakerHalfOpen BreakerState = 1
	// BreakerOpen refuses requests until Breaker.OpenFor has passed.
	BreakerOpen BreakerState = 2
)

// String returns closed, half_open or open.
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half_open"
	case BreakerOpen:
		return "open"
	}
	return "unknown"
}

// breakerBuckets is the number of buckets of the sliding window: the ratio
// is exact to a tenth of the window, which is what a 10s window with 1s
// buckets gives in most breakers (Hystrix, resilience4j).
const breakerBuckets = 10

// bucket counts the outcomes of one tenth of the window. epoch is the
// bucket's index in time (unix nanoseconds ÷ bucket width); a bucket whose
// epoch is stale is reset by the first writer that sees it.
type bucket struct {
	epoch atomic.Int64
	total atomic.Int64
	fails atomic.Int64
}

// breaker is one target's circuit breaker. The closed state's bookkeeping
// (the consecutive-failure count and the window) is atomics only, so the
// request path takes no lock; transitions take mu. Times are unix
// nanoseconds.
type breaker struct {
	on        bool
	failures  int64 // consecutive failures that open it, at least 1
	ratio     float64
	minReq    int64
	bucketDur int64
	openFor   int64
	halfOpen  int32

	state     atomic.Int32 // a BreakerState
	openUntil atomic.Int64
	consec    atomic.Int64
	probes    atomic.Int32 // half-open probes in flight
	opened    atomic.Int64 // times it opened, for Stats
	buckets   [breakerBuckets]bucket

	mu sync.Mutex
}

// init configures b from cfg (validated); a nil cfg leaves it off.
func (b *breaker) init(cfg *Breaker) {
	if cfg == nil {
		return
	}
	b.on = true
	b.failures = int64(cfg.Failures)
	b.ratio = cfg.ErrorRatio
	b.minReq = int64(cfg.MinRequests)
	b.bucketDur = max(int64(cfg.Window)/breakerBuckets, 1)
	b.openFor = int64(cfg.OpenFor)
	b.halfOpen = int32(min(cfg.HalfOpenRequests, 1<<30))
}

// available reports, without changing anything, whether b would admit a
// request at now. The balancer filters with it; admit decides.
func (b *breaker) available(now int64) bool {
	if !b.on {
		return true
	}
	switch BreakerState(b.state.Load()) {
	case BreakerClosed:
		return true
	case BreakerOpen:
		return now >= b.openUntil.Load()
	default:
		return b.probes.Load() < b.halfOpen
	}
}

// admit decides whether a request may go to the target at now. probe is
// true when the request is a half-open probe; its outcome must then be
// passed to record with probe set.
func (b *breaker) admit(now int64) (ok, probe bool) {
	if !b.on || BreakerState(b.state.Load()) == BreakerClosed {
		return true, false
	}
	return b.admitSlow(now)
}

// admitSlow is admit for an open or half-open breaker.
func (b *breaker) admitSlow(now int64) (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch BreakerState(b.state.Load()) {
	case BreakerClosed:
		return true, false
	case BreakerOpen:
		if now < b.openUntil.Load() {
			return false, false
		}
		b.probes.Store(0)
		b.state.Store(int32(BreakerHalfOpen))
	}
	if b.probes.Load() >= b.halfOpen {
		return false, false
	}
	b.probes.Add(1)
	return true, true
}

// transition is a state change record made, for the log.
type transition uint8

const (
	noTransition transition = iota
	toOpen
	toReopen
	toClosed
)

// record counts one outcome at now and reports the transition it caused.
// Outcomes of requests admitted while closed that arrive once the breaker
// has opened are ignored: the breaker's fate is the probes' to decide.
func (b *breaker) record(now int64, probe bool, o outcome) transition {
	if !b.on {
		return noTransition
	}
	if probe {
		return b.recordProbe(now, o)
	}
	if o.neutral() || BreakerState(b.state.Load()) != BreakerClosed {
		return noTransition
	}
	fail := o.failure()
	if b.ratio > 0 {
		b.count(now, fail)
	}
	if !fail {
		if b.consec.Load() != 0 {
			b.consec.Store(0)
		}
		return noTransition
	}
	n := b.consec.Add(1)
	trip := n >= b.failures
	if !trip && b.ratio > 0 {
		total, fails := b.window(now)
		trip = total >= b.minReq && total > 0 && float64(fails) >= b.ratio*float64(total)
	}
	if !trip {
		return noTransition
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if BreakerState(b.state.Load()) != BreakerClosed {
		return noTransition
	}
	b.openLocked(now)
	return toOpen
}

// recordProbe settles a half-open probe.
func (b *breaker) recordProbe(now int64, o outcome) transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probes.Add(-1)
	if BreakerState(b.state.Load()) != BreakerHalfOpen || o.neutral() {
		return noTransition
	}
	if o.failure() {
		b.openLocked(now)
		return toReopen
	}
	b.consec.Store(0)
	b.resetWindow()
	b.state.Store(int32(BreakerClosed))
	return toClosed
}

// openLocked opens the breaker for openFor from now. b.mu is held.
func (b *breaker) openLocked(now int64) {
	b.openUntil.Store(now + b.openFor)
	b.state.Store(int32(BreakerOpen))
	b.consec.Store(0)
	b.resetWindow()
	b.opened.Add(1)
}

// resetWindow forgets the window's outcomes.
func (b *breaker) resetWindow() {
	for i := range b.buckets {
		b.buckets[i].epoch.Store(0)
		b.buckets[i].total.Store(0)
		b.buckets[i].fails.Store(0)
	}
}

// count adds one outcome at now to the window. Two writers that both find
// a bucket stale may lose one count between them; the ratio is an estimate
// and stays one without a lock on the request path.
func (b *breaker) count(now int64, fail bool) {
	e := now / b.bucketDur
	bk := &b.buckets[e%breakerBuckets]
	if old := bk.epoch.Load(); old != e && bk.epoch.CompareAndSwap(old, e) {
		bk.total.Store(0)
		bk.fails.Store(0)
	}
	bk.total.Add(1)
	if fail {
		bk.fails.Add(1)
	}
}

// window sums the outcomes of the buckets inside the window ending at now.
func (b *breaker) window(now int64) (total, fails int64) {
	e := now / b.bucketDur
	for i := range b.buckets {
		bk := &b.buckets[i]
		if be := bk.epoch.Load(); be > e-breakerBuckets && be <= e {
			total += bk.total.Load()
			fails += bk.fails.Load()
		}
	}
	return total, fails
}

// stateAt is the state Stats reports at now: an open breaker whose OpenFor
// has passed is reported half-open, as the next request will find it.
func (b *breaker) stateAt(now int64) BreakerState {
	if !b.on {
		return BreakerClosed
	}
	s := BreakerState(b.state.Load())
	if s == BreakerOpen && now >= b.openUntil.Load() {
		return BreakerHalfOpen
	}
	return s
}

// retryAfter is how long after now b will take a probe: 0 when it already
// would (or is only waiting for its probes).
func (b *breaker) retryAfter(now int64) time.Duration {
	if BreakerState(b.state.Load()) == BreakerOpen {
		if d := b.openUntil.Load() - now; d > 0 {
			return time.Duration(d)
		}
	}
	return 0
}
