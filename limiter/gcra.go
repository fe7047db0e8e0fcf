package limiter

import (
	"time"
)

// GCRA is the local (per-process) generic cell rate algorithm: the
// virtual-scheduling form of the Generic Cell Rate Algorithm defined by the
// ATM Forum for ATM traffic policing (Traffic Management Specification 4.0,
// af-tm-0056.000, 1996, and ITU-T I.371). It is a token bucket kept as one
// number per key, the theoretical arrival time (TAT) of the next request:
//
//	T   = Per / Rate            emission interval (one request's cost)
//	tau = (Burst - 1) × T       burst tolerance
//	a request at t is allowed iff max(TAT, t) - t <= tau,
//	and then TAT = max(TAT, t) + T.
//
// Each key's TAT is one atomic int64 updated by compare-and-swap: there is
// no mutex on the decision path and no allocation for a key already seen.
type GCRA struct {
	p    gcraParams
	rule Rule
	t    *table
	j    *janitor
}

var _ Limiter = (*GCRA)(nil)

// NewGCRA returns a local GCRA limiter for opts.Rule and starts its janitor
// (opts.Algorithm and opts.Redis are ignored). Close stops the janitor.
func NewGCRA(opts Options) (*GCRA, error) {
	opts.Algorithm = AlgorithmGCRA
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	g := &GCRA{p: newGCRAParams(opts.Rule, time.Nanosecond), rule: opts.Rule, t: newTable()}
	g.j = startJanitor(opts.SweepInterval, opts.clock, g.Sweep)
	return g, nil
}

// Allow implements Limiter.
func (g *GCRA) Allow(key []byte, now time.Time) Decision {
	t := unixNano(now)
	h := g.t.hash(key)
	s := g.t.shard(h)
	for {
		e := s.get(h)
		for v := e.Load(); v != dead; v = e.Load() {
			tat := max(int64(v), t)
			if tat-t > g.p.tau {
				s.count(false)
				return g.p.decision(false, t, tat)
			}
			next := tat + g.p.interval
			if e.CompareAndSwap(v, uint64(next)) {
				s.count(true)
				return g.p.decision(true, t, next)
			}
		}
		// The janitor removed the entry between lookup and load: look
		// again, which finds or creates its successor.
	}
}

// Sweep removes the keys whose bucket is full again at now (TAT <= now): a
// full bucket is what an unknown key gets, so forgetting it changes no
// decision. It returns the number removed. The janitor calls it every
// Options.SweepInterval.
func (g *GCRA) Sweep(now time.Time) int {
	return g.t.sweep(now, func(v uint64, now int64) bool { return int64(v) <= now })
}

// Stats implements Limiter.
func (g *GCRA) Stats() Stats {
	var st Stats
	g.t.stats(&st)
	return st
}

// Rule returns the rule the limiter enforces, with defaults applied.
func (g *GCRA) Rule() Rule { return g.rule }

// Close stops the janitor. It is idempotent and always returns nil.
func (g *GCRA) Close() error {
	g.j.close()
	return nil
}

// gcraParams is a Rule in GCRA's terms, in nanoseconds.
type gcraParams struct {
	interval int64 // T
	tau      int64 // burst tolerance
	burst    int64
}

// newGCRAParams derives T and tau, with T rounded down to a whole unit (a
// nanosecond locally, a microsecond in Redis). Rounding down errs on the
// side of admitting: 3/s gives T = 333,333,333ns, 3 per second.
func newGCRAParams(r Rule, unit time.Duration) gcraParams {
	t := int64(r.Per/unit) / r.Rate * int64(unit)
	return gcraParams{interval: t, tau: (r.Burst - 1) * t, burst: r.Burst}
}

// decision builds the Decision for a request at now that left the key's
// TAT at tat (after the update when allowed, unchanged when rejected).
// The Redis limiter calls it with the script's results, so both share it.
func (p *gcraParams) decision(allowed bool, now, tat int64) Decision {
	ahead := max(tat-now, 0)
	d := Decision{Allowed: allowed, Limit: p.burst, Reset: time.Duration(ahead)}
	if ahead <= p.tau {
		// Request k more is allowed iff ahead + (k-1)T <= tau.
		d.Remaining = (p.tau-ahead)/p.interval + 1
	}
	if !allowed {
		// The next request fits once t' reaches tat - tau.
		d.RetryAfter = time.Duration(ahead - p.tau)
	}
	return d
}
