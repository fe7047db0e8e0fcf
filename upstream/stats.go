package upstream

import (
	"time"
)

// DurationBounds are the upper bounds of the duration histogram's buckets
// (Prometheus's default buckets); Stats.DurationCounts has one more, for
// longer exchanges.
var DurationBounds = [...]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Stats is a snapshot of an Upstream's counters and gauges. Counters are
// cumulative since the targets were built, across reloads that kept them
// (Adopt). The engine renders them as the pgfast_upstream_* metrics and in
// /admin/stats.
type Stats struct {
	// Name is Options.Name.
	Name string
	// Targets has one entry per target, in Options.Targets order.
	Targets []TargetStats

	// Requests counts calls of Do.
	Requests int64
	// Retries counts attempts on another target after a failed one.
	Retries int64
	// NoTarget counts calls refused with ErrNoTarget because no target was
	// up (none was tried).
	NoTarget int64
	// Open counts calls refused with an *OpenError.
	Open int64
	// Timeouts counts calls that ended with ErrTimeout.
	Timeouts int64
	// BadGateway counts calls whose targets were tried and all failed
	// without an answer (an error wrapping ErrNoTarget).
	BadGateway int64
	// DurationCounts is the histogram of Do's durations (to the response
	// head, retries included): DurationCounts[i] counts calls that took at
	// most DurationBounds[i] and more than the bound before; the last
	// counts calls longer than every bound. Not cumulative.
	DurationCounts [len(DurationBounds) + 1]int64
	// DurationSum is the total time of those calls.
	DurationSum time.Duration
}

// TargetStats is one target's part of Stats.
type TargetStats struct {
	// URL is the target's URL as in Options.Targets.
	URL string
	// Weight is its weight.
	Weight int
	// Up is its health (always true without health checks).
	Up bool
	// BreakerState is its circuit breaker's state (always closed without
	// a breaker); an open breaker past OpenFor reads half-open.
	BreakerState BreakerState
	// BreakerOpened counts the times its breaker opened.
	BreakerOpened int64
	// InFlight is the number of requests sent to it whose response head
	// has not arrived yet.
	InFlight int64

	// Requests counts attempts sent to it, retries included.
	Requests int64
	// Codes counts its responses by status class: Codes[0] is 1xx, …,
	// Codes[4] is 5xx.
	Codes [5]int64
	// ConnectErrors, Resets and Timeouts count attempts that got no
	// response for these reasons; Saturated counts attempts that found
	// every connection busy until the deadline; OtherErrors the rest
	// (a response body too large, a failing request body stream).
	ConnectErrors, Resets, Timeouts, Saturated, OtherErrors int64
	// Failures counts attempts its breaker counted as failures (connect
	// errors, resets, timeouts, 502/503/504).
	Failures int64
	// Retries counts attempts retried on another target after failing on
	// this one.
	Retries int64
}

// Stats returns a snapshot of u's counters.
func (u *Upstream) Stats() Stats {
	p := u.pool.Load()
	now := time.Now().UnixNano()
	s := Stats{
		Name:        u.name,
		Targets:     make([]TargetStats, len(p.bl.targets)),
		Requests:    p.requests.Load(),
		Retries:     p.retries.Load(),
		NoTarget:    p.noTarget.Load(),
		Open:        p.open.Load(),
		Timeouts:    p.timeouts.Load(),
		BadGateway:  p.badGate.Load(),
		DurationSum: time.Duration(p.durSum.Load()),
	}
	for i := range p.durCounts {
		s.DurationCounts[i] = p.durCounts[i].Load()
	}
	for i, t := range p.bl.targets {
		ts := TargetStats{
			URL:           t.url,
			Weight:        int(t.weight),
			Up:            t.up.Load(),
			BreakerState:  t.br.stateAt(now),
			BreakerOpened: t.br.opened.Load(),
			InFlight:      t.inflight.Load(),
			Requests:      t.requests.Load(),
			ConnectErrors: t.connectErrs.Load(),
			Resets:        t.resets.Load(),
			Timeouts:      t.timeouts.Load(),
			Saturated:     t.saturated.Load(),
			OtherErrors:   t.otherErrs.Load(),
			Failures:      t.failures.Load(),
			Retries:       t.retries.Load(),
		}
		for c := range t.codes {
			ts.Codes[c] = t.codes[c].Load()
		}
		s.Targets[i] = ts
	}
	return s
}
