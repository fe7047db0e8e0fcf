package upstream

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/valyala/fasthttp"
)

// Upstream sends requests to a set of targets. Its methods are safe for
// concurrent use.
type Upstream struct {
	opts    Options // normalized
	name    string
	timeout time.Duration
	retries int

	// pool is the state that survives a reload (see Adopt). It changes
	// once at most, in Adopt, before the engine publishes the Upstream.
	pool atomic.Pointer[pool]

	closeOnce sync.Once
}

// pool is an upstream's targets with their clients, health, breakers and
// counters, its balancer and its health checks: everything Adopt hands
// from one Upstream to the next.
type pool struct {
	name string
	log  *slog.Logger
	bl   balancer

	// Upstream totals; see Stats.
	requests  atomic.Int64
	retries   atomic.Int64
	noTarget  atomic.Int64
	open      atomic.Int64
	timeouts  atomic.Int64
	badGate   atomic.Int64
	durCounts [len(DurationBounds) + 1]atomic.Int64
	durSum    atomic.Int64

	// Health checks: one goroutine per target, stopped by closing stop.
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	owner   *Upstream // the Upstream whose Close stops the pool
	stopped bool
}

// New validates o, builds an Upstream and starts its health checks. Every
// target starts up, with its breaker closed.
func New(o Options) (*Upstream, error) {
	o = o.normalize()
	parsed, err := o.check()
	if err != nil {
		return nil, err
	}
	u := &Upstream{opts: o, name: o.Name, timeout: o.Timeout, retries: o.Retries}
	p := &pool{
		name: o.Name,
		log:  o.Logger.With("upstream", o.Name),
		bl:   balancer{balance: o.Balance, targets: make([]*node, len(parsed)), cw: make([]int64, len(parsed))},
		stop: make(chan struct{}),
	}
	p.bl.uniform = true
	for i, pt := range parsed {
		p.bl.targets[i] = newTarget(i, pt, &o)
		p.bl.uniform = p.bl.uniform && pt.weight == parsed[0].weight
	}
	p.owner = u
	u.pool.Store(p)
	if h := o.HealthCheck; h != nil {
		for _, t := range p.bl.targets {
			p.wg.Add(1)
			go p.healthLoop(t, *h)
		}
	}
	return u, nil
}

// Name returns Options.Name.
func (u *Upstream) Name() string { return u.name }

// Do sends req to a target chosen by the balancer and reads the response
// head into resp; it returns the target's URL (as in Options.Targets) and
// an error that is nil whenever a target answered, whatever the status: an
// upstream's own 4xx and 5xx pass through. Otherwise the error is
// ErrNoTarget (wrapped, with the cause), ErrTimeout (wrapped) or an
// *OpenError; target is the last one tried, "" when none was.
//
// Do sets req's URI scheme and host to the target's (req.URI() must hold
// the path and query to send) and sets req.UseHostHeader, so the Host
// header the caller set is sent as it is; with none, Host is the target's
// host:port. A failed attempt (connect error, reset, 502/503/504) of an
// idempotent request without a body stream is retried on another target,
// up to Options.Retries, within Options.Timeout (if any).
//
// Unless Options.MaxResponseBodySize is set, the body is not read: the
// caller must read resp.BodyStream() and then call resp.CloseBodyStream()
// (or release resp), which gives the connection back; the deadline of
// Options.Timeout stays on the connection meanwhile. Stats.InFlight counts
// a request until Do returns. hashKey selects the target under Hash (an
// empty key falls back to round robin); Do does not keep it.
//
// Do allocates nothing of its own; what fasthttp allocates for a streamed
// body (a few small objects per response) is measured by TestDoAllocs.
func (u *Upstream) Do(req *fasthttp.Request, resp *fasthttp.Response, hashKey []byte) (target string, err error) {
	p := u.pool.Load()
	start := time.Now()
	var deadline time.Time // zero: no deadline (Options.Timeout 0)
	if u.timeout > 0 {
		deadline = start.Add(u.timeout)
	}
	p.requests.Add(1)

	hashed := p.bl.balance == Hash && len(hashKey) > 0
	var keyHash uint64
	if hashed {
		keyHash = xxhash.Sum64(hashKey)
	}
	retriesLeft := 0
	if u.retries > 0 && isIdempotent(&req.Header) && !req.IsBodyStream() {
		retriesLeft = u.retries
	}

	uri := req.URI()
	req.UseHostHeader = true
	var (
		tried   triedSet
		last    *node
		lastOut outcome
		lastErr error
		now     = start
	)
	for {
		t, probe := p.bl.pick(now.UnixNano(), hashed, keyHash, &tried)
		if t == nil {
			if last == nil {
				p.observe(start)
				err := p.bl.unavailable(p.name, now.UnixNano())
				if err == ErrNoTarget {
					p.noTarget.Add(1)
				} else {
					p.open.Add(1)
				}
				return "", err
			}
			break // no other target: the last attempt's result stands
		}
		if last != nil {
			// A retry: the failed attempt's response, if any, is dropped.
			if lastOut == outBadStatus {
				_ = resp.CloseBodyStream()
			}
			last.retries.Add(1)
			p.retries.Add(1)
		}
		tried.add(t.idx)
		uri.SetScheme(t.scheme)
		uri.SetHost(t.addr)
		var err error
		if deadline.IsZero() {
			req.SetTimeout(0) // a DoDeadline of an earlier Do would linger
			err = t.hc.Do(req, resp)
		} else {
			err = t.hc.DoDeadline(req, resp, deadline)
		}
		t.inflight.Add(-1)
		now = time.Now()
		o := outOK
		if err != nil || resp.StatusCode() >= 500 {
			o = classify(err, resp.StatusCode(), now, deadline)
		}
		t.count(o, resp.StatusCode())
		if tr := t.br.record(now.UnixNano(), probe, o); tr != noTransition {
			p.logTransition(t, tr)
		}
		last, lastOut, lastErr = t, o, err
		if !o.retryable() || retriesLeft == 0 || pastDeadline(now, deadline) {
			break
		}
		retriesLeft--
	}
	p.observe(start)
	switch lastOut {
	case outOK, outBadStatus:
		return last.url, nil
	case outTimeout:
		p.timeouts.Add(1)
		if u.timeout == 0 {
			return last.url, fmt.Errorf("upstream %q: %s: timed out: %w: %w", p.name, last.url, ErrTimeout, lastErr)
		}
		return last.url, fmt.Errorf("upstream %q: %s: no response within %s (timeout): %w", p.name, last.url, u.timeout, ErrTimeout)
	}
	p.badGate.Add(1)
	return last.url, fmt.Errorf("upstream %q: %s: %w: %w", p.name, last.url, ErrNoTarget, lastErr)
}

// pastDeadline reports whether now is at or past deadline; a zero deadline
// (no Options.Timeout) is never reached.
func pastDeadline(now, deadline time.Time) bool {
	return !deadline.IsZero() && !now.Before(deadline)
}

// observe adds the time since start to the duration histogram.
func (p *pool) observe(start time.Time) {
	d := time.Since(start)
	p.durSum.Add(int64(d))
	i := 0
	for i < len(DurationBounds) && d > DurationBounds[i] {
		i++
	}
	p.durCounts[i].Add(1)
}

// logTransition logs a breaker's change of state.
func (p *pool) logTransition(t *node, tr transition) {
	switch tr {
	case toOpen:
		p.log.Warn("upstream target circuit breaker opened", "target", t.url,
			"open_for", time.Duration(t.br.openFor))
	case toReopen:
		p.log.Warn("upstream target circuit breaker probe failed; open again", "target", t.url,
			"open_for", time.Duration(t.br.openFor))
	case toClosed:
		p.log.Info("upstream target circuit breaker closed", "target", t.url)
	}
}

// Close stops the health checks and closes idle connections. It is
// idempotent. Do keeps working afterwards (requests in flight at a reload
// finish, and may even retry), but no target changes health any more. An
// Upstream whose targets another one adopted leaves them running: they are
// the new one's to close.
func (u *Upstream) Close() {
	u.closeOnce.Do(func() {
		p := u.pool.Load()
		p.mu.Lock()
		mine := p.owner == u && !p.stopped
		if mine {
			p.stopped = true
		}
		p.mu.Unlock()
		if mine {
			p.shutdown()
		}
	})
}

// shutdown stops the health checks, waits for them and closes idle
// connections.
func (p *pool) shutdown() {
	close(p.stop)
	p.wg.Wait()
	for _, t := range p.bl.targets {
		t.closeIdle()
	}
}

// Adopt makes u take over old's targets (their connections, health,
// breakers and counters) and health checks, so that they survive a
// reload; u's own, fresh ones are stopped. It does so only when old was
// built from the same options, all but Retries and Logger (which u keeps
// its own of, the pool keeps old's logger), and old still owns its
// targets (not closed, not already adopted); it reports whether it did.
// Call it before u serves requests; old may keep serving the requests it
// has in flight, on the same targets, and should then be closed.
func (u *Upstream) Adopt(old *Upstream) bool {
	if old == nil || old == u || !sameOptions(&u.opts, &old.opts) {
		return false
	}
	mine := u.pool.Load()
	mine.mu.Lock()
	ownMine := mine.owner == u && !mine.stopped
	mine.mu.Unlock()
	if !ownMine {
		return false
	}
	theirs := old.pool.Load()
	theirs.mu.Lock()
	if theirs.owner != old || theirs.stopped {
		theirs.mu.Unlock()
		return false
	}
	theirs.owner = u
	theirs.mu.Unlock()

	u.pool.Store(theirs)
	mine.mu.Lock()
	mine.stopped = true
	mine.mu.Unlock()
	mine.shutdown()
	return true
}
