// Package limiter decides whether a request may proceed under a rate limit.
//
// Two algorithms sit behind one small interface, Limiter:
//
//   - GCRA, the generic cell rate algorithm: a token bucket expressed as one
//     timestamp per key (the theoretical arrival time), so a decision is one
//     atomic compare-and-swap.
//   - SlidingWindow, the sliding window counter: the previous fixed window's
//     count, weighted by how much of it still overlaps the sliding window,
//     plus the current window's count (pg-api's algorithm).
//
// Each runs locally (NewGCRA, NewSlidingWindow: per process, lock-free on the
// decision path, no allocation for a key already seen) or in Redis (NewRedis:
// the same algorithm as one Lua script per decision, so many pgfast instances
// share one budget, with an automatic local fallback while Redis is away).
//
// Keys are []byte, e.g. a client IP, an account id or a JWT subject; the
// caller prefixes them with its scope when one limiter serves several. The
// limiter does not keep the caller's key slice: locally it keeps a 64-bit
// seeded hash of it, in Redis a copy. One limiter enforces one Rule; the
// engine builds one limiter per rule (global default, route, account).
//
// Time is passed in: every decision takes now, which makes the algorithms
// exact and testable under a fake clock. Production callers pass time.Now().
// Idle keys are removed by a janitor goroutine that uses the wall clock; see
// Options.SweepInterval.
//
// The package knows nothing of HTTP. Decision carries the numbers for the
// RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset and Retry-After
// headers (ResetSeconds and RetryAfterSeconds give the last two in whole
// seconds); the engine formats them.
package limiter
