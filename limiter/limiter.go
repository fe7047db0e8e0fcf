package limiter

import (
	"fmt"
	"time"
)

// Limiter decides, per key, whether one more request fits the rule it was
// built with. Implementations are safe for concurrent use.
type Limiter interface {
	// Allow takes one request for key at time now and reports the outcome.
	// The limiter does not keep key after Allow returns. A rejected request
	// consumes nothing.
	Allow(key []byte, now time.Time) Decision
	// Stats returns a snapshot of the counters.
	Stats() Stats
	// Close stops the limiter's goroutines and releases what it owns. It is
	// idempotent; Allow and Stats keep working afterwards (idle keys are no
	// longer expired, and a Redis limiter decides locally).
	Close() error
}

// Decision is the outcome of one Allow: whether the request may proceed and
// the numbers for the rate-limit response headers.
type Decision struct {
	// Allowed reports whether the request fits the limit.
	Allowed bool
	// Limit is the number of requests the key may make at once from a full
	// budget: the burst for GCRA, the per-window count for SlidingWindow.
	// It is RateLimit-Limit.
	Limit int64
	// Remaining is how many more requests would be allowed right now, after
	// this one. It is RateLimit-Remaining.
	Remaining int64
	// Reset is the time until the budget is whole again: until the bucket
	// is full for GCRA, until the current window ends for SlidingWindow.
	// It is RateLimit-Reset, in seconds rounded up.
	Reset time.Duration
	// RetryAfter is the time until the next request would be allowed; it is
	// set only when Allowed is false, and is Retry-After in seconds rounded
	// up (at least 1).
	RetryAfter time.Duration
}

// ResetSeconds returns Reset in whole seconds rounded up, as RateLimit-Reset
// prints it.
func (d *Decision) ResetSeconds() int64 {
	return CeilSeconds(d.Reset)
}

// RetryAfterSeconds returns Retry-After in whole seconds: 0 when the request
// was allowed, otherwise RetryAfter rounded up and at least 1 (RFC 9110
// §10.2.3 delay-seconds), since a rejected client told "0" would retry at
// once.
func (d *Decision) RetryAfterSeconds() int64 {
	if d.Allowed {
		return 0
	}
	return max(CeilSeconds(d.RetryAfter), 1)
}

// CeilSeconds returns d in whole seconds rounded up, and 0 for d <= 0.
// Rounding up keeps a client that waits the advertised time from arriving a
// fraction of a second too early.
func CeilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}

// Stats is a snapshot of a limiter's counters since it was created. The
// engine renders it as Prometheus text; the package has no metrics
// dependency of its own.
type Stats struct {
	// Allowed counts decisions that let the request through.
	Allowed uint64 `json:"allowed"`
	// Rejected counts decisions that refused the request.
	Rejected uint64 `json:"rejected"`
	// Keys is the number of keys held in process memory now (for a Redis
	// limiter, in its local fallback).
	Keys int64 `json:"keys"`
	// RedisErrors counts Redis calls that failed or timed out.
	RedisErrors uint64 `json:"redis_errors"`
	// FallbackActive reports whether decisions are being made locally
	// because Redis is unavailable.
	FallbackActive bool `json:"fallback_active"`
	// Fallbacks counts decisions made by the local fallback because Redis
	// was unavailable.
	Fallbacks uint64 `json:"fallbacks"`
	// Outages counts transitions from Redis to the local fallback.
	Outages uint64 `json:"outages"`
}

// Algorithm selects how a limiter counts.
type Algorithm uint8

const (
	// AlgorithmGCRA is the generic cell rate algorithm (a token bucket with
	// burst). It is the default: smooth, exact, one atomic per key.
	AlgorithmGCRA Algorithm = iota
	// AlgorithmSlidingWindow is the sliding window counter: at most
	// Rule.Rate requests in any window of Rule.Per, approximately (the
	// previous window is assumed evenly spread).
	AlgorithmSlidingWindow
)

// String returns "gcra" or "sliding_window".
func (a Algorithm) String() string {
	switch a {
	case AlgorithmGCRA:
		return "gcra"
	case AlgorithmSlidingWindow:
		return "sliding_window"
	default:
		return fmt.Sprintf("Algorithm(%d)", uint8(a))
	}
}

// Rule is a rate limit: Rate requests per Per, with bursts up to Burst.
// "1000/s burst 2000" is Rule{Rate: 1000, Per: time.Second, Burst: 2000}.
type Rule struct {
	// Rate is the number of requests allowed per Per. Default: DefaultRate.
	Rate int64
	// Per is the period Rate is counted over, and the window length of
	// SlidingWindow. Default: one second.
	Per time.Duration
	// Burst is how many requests GCRA lets through at once from a full
	// bucket. Default: Rate. SlidingWindow ignores it: its burst is Rate.
	Burst int64
}

// DefaultRate is Rule.Rate when none is given: 1000 requests per second,
// DESIGN.md's example of a global default.
const DefaultRate = 1000

// MaxWindowLimit is the largest Rule.Rate SlidingWindow accepts. Its state
// is packed into one 64-bit word (window number and two 21-bit counts) so
// that a decision stays a single compare-and-swap; use GCRA above it.
const MaxWindowLimit = 2_000_000

// String formats the rule as "RATE/PER burst BURST", e.g. "1000/1s burst 2000".
func (r Rule) String() string {
	return fmt.Sprintf("%d/%s burst %d", r.Rate, r.Per, r.Burst)
}
