package limiter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the distributed limiter: the same GCRA or sliding window as the
// local limiters, run as one Lua script per decision in a Redis shared by
// every pgfast instance (EVALSHA of a script loaded once; reloaded by itself
// if Redis forgets it, e.g. after a restart).
//
// If a Redis call fails or takes longer than RedisOptions.Timeout, the
// decision is made by a local limiter of the same algorithm and rule, and so
// are all decisions after it, without trying Redis, until a background probe
// finds Redis answering again; each transition is logged once and counted
// in Stats. While in fallback every instance enforces the rule on its own,
// so N instances admit up to N times the budget: availability is preferred
// to exactness during an outage.
type Redis struct {
	opts   Options
	client redis.UniversalClient
	owned  bool // client built from opts.Redis.URL, closed by Close
	script script
	args   [3]int64 // the script arguments after now: the rule's two, TTL grace
	gcra   gcraParams
	window windowParams
	local  Limiter
	log    *slog.Logger

	fallback atomic.Bool
	closed   atomic.Bool

	allowed     atomic.Uint64
	rejected    atomic.Uint64
	redisErrors atomic.Uint64
	fallbacks   atomic.Uint64
	outages     atomic.Uint64

	ctx       context.Context // canceled by Close
	cancel    context.CancelFunc
	done      chan struct{} // closed when the probe goroutine has returned
	closeOnce sync.Once
	closeErr  error
}

var _ Limiter = (*Redis)(nil)

// callerClockGrace lengthens key TTLs under RedisOptions.CallerClock: TTLs
// run on Redis's real clock, so a caller clock lagging it must not see its
// state expire early.
const callerClockGrace = time.Second

// errBadReply reports a script reply of an unexpected shape.
var errBadReply = errors.New("limiter: unexpected reply from the rate limit script")

// NewRedis returns a Redis-backed limiter of opts.Algorithm and opts.Rule
// using opts.Redis.URL or opts.Redis.Client. A Redis that is down at start is
// not an error: the limiter starts on its local fallback and switches to
// Redis when the probe reaches it. Close stops the probe and the fallback's
// janitor, and closes a client built from the URL.
func NewRedis(opts Options) (*Redis, error) {
	if !opts.Redis.enabled() {
		return nil, fmt.Errorf("%w: Redis.URL or Redis.Client is required", ErrInvalidOptions)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	local, err := newLocal(opts)
	if err != nil {
		return nil, err
	}
	r := &Redis{
		opts:   opts,
		client: opts.Redis.Client,
		gcra:   newGCRAParams(opts.Rule, time.Microsecond),
		window: windowParams{per: int64(opts.Rule.Per), limit: opts.Rule.Rate},
		local:  local,
		log:    opts.Logger,
		done:   make(chan struct{}),
	}
	if opts.Algorithm == AlgorithmSlidingWindow {
		r.script = newScript(windowScript)
		r.args = [3]int64{int64(opts.Rule.Per / time.Microsecond), opts.Rule.Rate}
	} else {
		r.script = newScript(gcraScript)
		r.args = [3]int64{r.gcra.interval / 1000, r.gcra.tau / 1000}
	}
	if opts.Redis.CallerClock {
		r.args[2] = callerClockGrace.Milliseconds()
	}
	if r.client == nil {
		// Validate has checked the URL.
		if r.client, err = NewRedisClient(opts.Redis.URL, opts.Redis.Timeout); err != nil {
			_ = local.Close()
			return nil, err
		}
		r.owned = true
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())

	ctx, cancel := context.WithTimeout(r.ctx, max(opts.Redis.Timeout, opts.Redis.ProbeInterval))
	err = r.client.ScriptLoad(ctx, r.script.src).Err()
	cancel()
	if err != nil {
		r.redisErrors.Add(1)
		r.enterFallback(err)
	}
	go r.probeLoop()
	return r, nil
}

// Allow implements Limiter. With the server's clock (the default), now is
// used only when the decision falls back to the local limiter.
func (r *Redis) Allow(key []byte, now time.Time) Decision {
	if r.fallback.Load() || r.closed.Load() {
		return r.allowLocal(key, now)
	}
	d, err := r.allowRemote(key, now)
	if err != nil {
		r.redisErrors.Add(1)
		r.enterFallback(err)
		return r.allowLocal(key, now)
	}
	r.count(d.Allowed)
	return d
}

func (r *Redis) allowLocal(key []byte, now time.Time) Decision {
	if !r.closed.Load() {
		r.fallbacks.Add(1)
	}
	d := r.local.Allow(key, now)
	r.count(d.Allowed)
	return d
}

func (r *Redis) count(allowed bool) {
	if allowed {
		r.allowed.Add(1)
	} else {
		r.rejected.Add(1)
	}
}

// allowRemote runs the script for key within Timeout.
func (r *Redis) allowRemote(key []byte, now time.Time) (Decision, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.Redis.Timeout)
	defer cancel()
	at := int64(-1) // the script reads the server's TIME
	if r.opts.Redis.CallerClock {
		at = max(now.UnixMicro(), 0)
	}
	keys := []string{r.opts.Redis.Prefix + string(key)}
	res, err := r.client.EvalSha(ctx, r.script.sha, keys, at, r.args[0], r.args[1], r.args[2]).Int64Slice()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		// Redis restarted or its script cache was flushed: load and retry.
		if err = r.client.ScriptLoad(ctx, r.script.src).Err(); err == nil {
			res, err = r.client.EvalSha(ctx, r.script.sha, keys, at, r.args[0], r.args[1], r.args[2]).Int64Slice()
		}
	}
	if err != nil {
		return Decision{}, err
	}
	if r.opts.Algorithm == AlgorithmSlidingWindow {
		if len(res) != 4 {
			return Decision{}, fmt.Errorf("%w: %v", errBadReply, res)
		}
		return r.window.decision(res[0] == 1, res[1]*1000, res[2], res[3]), nil
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("%w: %v", errBadReply, res)
	}
	return r.gcra.decision(res[0] == 1, res[1]*1000, res[2]*1000), nil
}

// enterFallback switches decisions to the local limiter, logging and
// counting only the transition, not every failed call.
func (r *Redis) enterFallback(err error) {
	if r.closed.Load() {
		return
	}
	if r.fallback.CompareAndSwap(false, true) {
		r.outages.Add(1)
		r.log.Warn("limiter: redis unavailable, deciding rate limits locally until it answers",
			"prefix", r.opts.Redis.Prefix, "error", err)
	}
}

// probeLoop tries an unavailable Redis every ProbeInterval and switches
// decisions back to it when it answers. Close stops it.
func (r *Redis) probeLoop() {
	defer close(r.done)
	t := time.NewTicker(r.opts.Redis.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			if r.fallback.Load() {
				r.probe()
			}
		}
	}
}

// probe loads the script, which both proves Redis answers again (each
// call within Timeout, the client's socket bound) and makes the next
// EVALSHA find it after a restart.
func (r *Redis) probe() {
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.Redis.ProbeInterval)
	defer cancel()
	if err := r.client.ScriptLoad(ctx, r.script.src).Err(); err != nil {
		return
	}
	if r.fallback.CompareAndSwap(true, false) {
		r.log.Info("limiter: redis available again, deciding rate limits in redis",
			"prefix", r.opts.Redis.Prefix)
	}
}

// Stats implements Limiter. Keys counts the local fallback's keys; Redis
// holds the shared ones, each with a TTL.
func (r *Redis) Stats() Stats {
	return Stats{
		Allowed:        r.allowed.Load(),
		Rejected:       r.rejected.Load(),
		Keys:           r.local.Stats().Keys,
		RedisErrors:    r.redisErrors.Load(),
		FallbackActive: r.fallback.Load(),
		Fallbacks:      r.fallbacks.Load(),
		Outages:        r.outages.Load(),
	}
}

// Close stops the probe goroutine, then the fallback's janitor, then closes
// the client if the limiter built it. It is idempotent. Afterwards Allow
// decides locally.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.cancel()
		<-r.done
		_ = r.local.Close()
		if r.owned {
			r.closeErr = r.client.Close()
		}
	})
	return r.closeErr
}
