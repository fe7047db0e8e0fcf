package limiter

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrInvalidOptions is wrapped by every error Options.Validate returns.
var ErrInvalidOptions = errors.New("limiter: invalid options")

// Defaults used when an Options field is zero.
const (
	// DefaultSweepInterval is how often the janitor removes idle keys.
	DefaultSweepInterval = 10 * time.Second
	// DefaultRedisPrefix starts every Redis key the limiter writes.
	DefaultRedisPrefix = "pgfast:rl:"
	// DefaultProbeInterval is how often an unavailable Redis is probed.
	DefaultProbeInterval = 500 * time.Millisecond
)

// maxSpan bounds Per and the bucket depth (Burst × emission interval) so
// that a theoretical arrival time in nanoseconds since 1970 cannot overflow
// int64 (which ends in 2262).
const maxSpan = 100 * 365 * 24 * time.Hour

// Options configures a limiter. The zero value works: GCRA, 1000 requests
// per second with a burst of 1000, idle keys swept every 10s, local only.
// With Redis, Redis.Timeout is required.
//
// Defaults live in one place. The configuration's defaults (config.Default,
// documented in the config reference) are the user-facing contract, and the
// engine passes them through unchanged, so this package sets no default of
// its own for a field the configuration sets: Redis.Timeout
// (limits.redis_timeout, default 5ms) has none here. The engine always
// sets Rule (it builds no limiter for an unlimited rule) and Redis.Prefix;
// the other defaults are for fields the configuration has no key for.
type Options struct {
	// Algorithm selects GCRA (the default) or SlidingWindow for New and
	// NewRedis. NewGCRA and NewSlidingWindow ignore it.
	Algorithm Algorithm
	// Rule is the limit every key gets. Zero fields take Rule's defaults.
	Rule Rule
	// SweepInterval is how often the janitor goroutine removes keys whose
	// budget is whole again (GCRA: bucket full; SlidingWindow: both windows
	// over), so memory follows the number of recently active keys, not the
	// number ever seen. Default: DefaultSweepInterval. A sweep holds one of
	// 256 shard locks at a time, about 1µs per thousand keys it visits.
	// Negative disables the janitor; call Sweep yourself then.
	SweepInterval time.Duration
	// Redis configures the distributed limiter (NewRedis, or New when
	// Redis.URL or Redis.Client is set).
	Redis RedisOptions
	// Logger receives the Redis fallback transitions. Default: slog.Default().
	Logger *slog.Logger

	// clock is the janitor's wall clock; tests replace it. Default: time.Now.
	clock func() time.Time
}

// RedisOptions configures the Redis-backed limiter.
type RedisOptions struct {
	// URL is the Redis server, e.g. "redis://127.0.0.1:6379/0" (go-redis
	// ParseURL syntax; rediss:// for TLS). The limiter builds its client
	// from it with NewRedisClient(URL, Timeout), owns it and closes it on
	// Close.
	URL string
	// Client is an existing client to use instead of URL, e.g. one shared
	// by every limiter of a process; the limiter does not close it. Build it
	// with NewRedisClient and the same Timeout as here: a client with
	// go-redis's defaults (5s socket timeouts, retries, context deadlines
	// ignored) lets a Redis that stops answering hold each decision for
	// seconds, whatever Timeout says.
	Client redis.UniversalClient
	// Prefix starts every key the limiter writes: PREFIX + caller key.
	// Default: DefaultRedisPrefix. Limiters with different rules sharing a
	// Redis must use different prefixes (e.g. add the route name), or they
	// would read each other's state.
	Prefix string
	// Timeout bounds each Redis decision, after which the request is
	// decided by the local fallback: it is the decision's context deadline
	// and, through NewRedisClient, the client's dial, read, write and pool
	// wait timeouts. Required (> 0) with Redis: there is no default here,
	// as the configuration always sets it (limits.redis_timeout, default
	// 5ms), and a zero deadline would send every decision to the fallback.
	// A local decision costs tens of nanoseconds and a Redis round trip on
	// a LAN a fraction of a millisecond; raise it when Redis is across a
	// slow link (a TLS handshake must fit in it too).
	Timeout time.Duration
	// ProbeInterval is how often an unavailable Redis is tried again (the
	// probe as a whole bounded by ProbeInterval, each of its calls by
	// Timeout, as decisions are); decisions return to Redis as soon as a
	// probe succeeds. Default: DefaultProbeInterval.
	ProbeInterval time.Duration
	// CallerClock makes Redis decisions use the now passed to Allow instead
	// of the Redis server's TIME. The default, server time, gives every
	// instance one clock whatever their skew; the caller's clock is for
	// tests and for replaying traffic; it must advance about as fast as real
	// time, because key TTLs are counted by Redis in real time (plus one
	// second of grace in this mode). The local fallback always uses now.
	CallerClock bool
}

// enabled reports whether a Redis server is configured.
func (r *RedisOptions) enabled() bool {
	return r.URL != "" || r.Client != nil
}

// withDefaults returns a copy of o with every zero field that has a default
// (all but Redis.Timeout) set to it.
func (o Options) withDefaults() Options {
	if o.Rule.Rate == 0 {
		o.Rule.Rate = DefaultRate
	}
	if o.Rule.Per == 0 {
		o.Rule.Per = time.Second
	}
	if o.Rule.Burst == 0 {
		o.Rule.Burst = o.Rule.Rate
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.Redis.Prefix == "" {
		o.Redis.Prefix = DefaultRedisPrefix
	}
	if o.Redis.ProbeInterval == 0 {
		o.Redis.ProbeInterval = DefaultProbeInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.clock == nil {
		o.clock = time.Now
	}
	return o
}

// Validate reports whether o (with defaults applied) describes a limiter
// this package can build. Errors wrap ErrInvalidOptions and name the field.
func (o Options) Validate() error {
	o = o.withDefaults()
	r := o.Rule
	switch {
	case o.Algorithm != AlgorithmGCRA && o.Algorithm != AlgorithmSlidingWindow:
		return fmt.Errorf("%w: Algorithm = %d; want AlgorithmGCRA or AlgorithmSlidingWindow", ErrInvalidOptions, o.Algorithm)
	case r.Rate < 0:
		return fmt.Errorf("%w: Rule.Rate = %d; want a positive number of requests", ErrInvalidOptions, r.Rate)
	case r.Per < 0 || r.Per > maxSpan:
		return fmt.Errorf("%w: Rule.Per = %s; want a period between 1ns and %s", ErrInvalidOptions, r.Per, maxSpan)
	case r.Burst < 0:
		return fmt.Errorf("%w: Rule.Burst = %d; want a positive number of requests", ErrInvalidOptions, r.Burst)
	case r.Rate > int64(r.Per):
		return fmt.Errorf("%w: Rule %s allows more than one request per nanosecond; lower the rate", ErrInvalidOptions, r)
	case r.Burst > int64(maxSpan)/int64(r.Per/time.Duration(r.Rate)):
		return fmt.Errorf("%w: Rule %s: a burst this deep takes more than %s to refill; lower the burst", ErrInvalidOptions, r, maxSpan)
	case o.Algorithm == AlgorithmSlidingWindow && r.Rate > MaxWindowLimit:
		return fmt.Errorf("%w: Rule.Rate = %d per window; the sliding window allows at most %d, use GCRA above it", ErrInvalidOptions, r.Rate, MaxWindowLimit)
	}
	if !o.Redis.enabled() {
		return nil
	}
	rd := o.Redis
	switch {
	case rd.URL != "" && rd.Client != nil:
		return fmt.Errorf("%w: Redis.URL and Redis.Client are both set; set one", ErrInvalidOptions)
	case rd.Timeout <= 0:
		return fmt.Errorf("%w: Redis.Timeout = %s; want a positive duration, such as 5ms", ErrInvalidOptions, rd.Timeout)
	case rd.ProbeInterval < 0:
		return fmt.Errorf("%w: Redis.ProbeInterval = %s; want a positive duration", ErrInvalidOptions, rd.ProbeInterval)
	case r.Per%time.Microsecond != 0:
		// Redis Lua numbers are doubles: time travels in microseconds there,
		// which keeps Unix timestamps exact (below 2^53).
		return fmt.Errorf("%w: Rule.Per = %s; Redis counts in whole microseconds", ErrInvalidOptions, r.Per)
	case o.Algorithm == AlgorithmGCRA && r.Rate > int64(r.Per/time.Microsecond):
		return fmt.Errorf("%w: Rule %s allows more than one request per microsecond, which Redis cannot count; lower the rate", ErrInvalidOptions, r)
	}
	if rd.URL != "" {
		if _, err := redis.ParseURL(rd.URL); err != nil {
			return fmt.Errorf("%w: Redis.URL: %w", ErrInvalidOptions, err)
		}
	}
	return nil
}
