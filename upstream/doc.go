// Package upstream is pgfast's HTTP backend: it sends a request to one of
// an upstream's targets (DESIGN §9) over fasthttp and hands the response
// back, streaming bodies both ways.
//
// An Upstream is built from Options by New, which the engine calls with
// the upstream's configuration mapped onto Options; the package imports
// nothing of ours. Each target is a *fasthttp.HostClient of its own (keep-
// alive connections, TLS for https targets, a connect timeout, at most
// MaxConnsPerTarget connections, path and header bytes passed as they
// are). Do picks a target, sets the request's URI scheme and host to it
// (the caller's Host header is kept), sends it, and reads the response
// head; the body stays a stream (resp.BodyStream()) that the caller reads
// and closes, so a response of any size passes with bounded memory.
//
// Choosing a target:
//
//   - RoundRobin: smooth weighted round robin, nginx's algorithm;
//   - LeastConn: fewest requests in flight per unit of weight, ties broken
//     by smooth weighted round robin;
//   - Hash: weighted rendezvous hashing of the caller's hash key (a header,
//     the client IP, a JWT claim: the engine extracts it), so a key stays on
//     its target and adding a target moves only about 1/N of the keys.
//
// Only targets that are up (active health checks, HealthCheck) and whose
// circuit breaker admits the request (passive, Breaker) are candidates.
// A failed attempt (connect error, reset, 502/503/504) of an idempotent
// request without a body stream is retried on another target, up to
// Retries, within the one Timeout that bounds the whole exchange.
//
// Errors carry their classification for the engine: ErrNoTarget (502
// bad_gateway), ErrTimeout (504 upstream_timeout), *OpenError (503
// unavailable with Retry-After). A response is never an error: an
// upstream's own 4xx and 5xx pass through untouched.
//
// Stats gives a snapshot of the counters (all atomics) that the engine
// renders as the pgfast_upstream_* metrics. On a configuration reload,
// Adopt lets the new Upstream take over the old one's targets when the
// options are unchanged, so health, breakers, connections and counters
// survive it.
//
// The request path allocates nothing of its own: the balancer's choice is
// allocation-free (TestPickAllocs), and Do adds no allocation to what
// fasthttp's HostClient makes for the exchange, which is none for a
// buffered body and a few small objects for a streamed one (TestDoAllocs).
//
// Goroutines: one health-check goroutine per target when HealthCheck is
// set, stopped by Close (or by the Close of the Upstream that adopted
// them); fasthttp's own connection cleaner exits once the connections are
// closed.
package upstream
