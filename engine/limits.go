package engine

import (
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/limiter"
)

var (
	headerRLLimit     = []byte("RateLimit-Limit")
	headerRLRemaining = []byte("RateLimit-Remaining")
	headerRLReset     = []byte("RateLimit-Reset")
)

// rateLimit is one limiter with the scope it was built for ("default",
// "route:customer", "account:acc_x"), shared by every request of that scope.
type rateLimit struct {
	scope string
	rule  config.RateLimit
	lim   limiter.Limiter
}

// limiters owns the engine's limiters. A limiter whose scope and rule did
// not change survives a reload with its buckets; the others are closed.
type limiters struct {
	mu    sync.Mutex
	byKey map[string]*rateLimit
	// redis holds one client per limits.redis_url and redis_timeout, shared
	// by every limiter using them; a reload may change either.
	redis map[string]redis.UniversalClient
}

func limiterKey(scope string, rl config.RateLimit, lc *config.Limits) string {
	return fmt.Sprintf("%s|%s|%d|%s|%s", scope, rl.Rate, rl.EffectiveBurst(), lc.Algorithm, redisClientKey(lc))
}

// redisClientKey names the Redis client lc asks for: its URL and timeout,
// since the client's own timeouts are redis_timeout (limiter.NewRedisClient).
func redisClientKey(lc *config.Limits) string {
	if lc.RedisURL.Value() == "" {
		return ""
	}
	return lc.RedisTimeout.Std().String() + "|" + lc.RedisURL.Value()
}

// get returns the limiter of scope for rule, creating it on first use.
func (ls *limiters) get(e *Engine, scope string, rl config.RateLimit, lc *config.Limits) (*rateLimit, error) {
	if rl.Rate.IsZero() {
		return nil, nil
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	key := limiterKey(scope, rl, lc)
	if l := ls.byKey[key]; l != nil {
		return l, nil
	}
	opts := limiter.Options{
		Rule:   limiter.Rule{Rate: rl.Rate.N, Per: rl.Rate.Per, Burst: rl.EffectiveBurst()},
		Logger: e.log.With("limiter", scope),
	}
	if lc.Algorithm == config.AlgoSlidingWin {
		opts.Algorithm = limiter.AlgorithmSlidingWindow
	}
	if ck := redisClientKey(lc); ck != "" {
		client := ls.redis[ck]
		if client == nil {
			c, err := limiter.NewRedisClient(lc.RedisURL.Value(), lc.RedisTimeout.Std())
			if err != nil {
				return nil, fmt.Errorf("limits.redis_url: %w", err)
			}
			client = c
			if ls.redis == nil {
				ls.redis = map[string]redis.UniversalClient{}
			}
			ls.redis[ck] = client
		}
		opts.Redis = limiter.RedisOptions{
			Client:  client,
			Prefix:  limiter.DefaultRedisPrefix + scope + ":",
			Timeout: lc.RedisTimeout.Std(),
		}
	}
	lim, err := limiter.New(opts)
	if err != nil {
		return nil, fmt.Errorf("rate limit %s (%s): %w", scope, rl, err)
	}
	l := &rateLimit{scope: scope, rule: rl, lim: lim}
	if ls.byKey == nil {
		ls.byKey = map[string]*rateLimit{}
	}
	ls.byKey[key] = l
	return l, nil
}

// retain closes the limiters no state uses any more.
func (ls *limiters) retain(states ...*state) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	used := map[*rateLimit]bool{}
	for _, st := range states {
		if st == nil {
			continue
		}
		for _, l := range st.allLimits() {
			used[l] = true
		}
	}
	for k, l := range ls.byKey {
		if !used[l] {
			l.lim.Close()
			delete(ls.byKey, k)
		}
	}
	clients := map[string]bool{}
	for _, st := range states {
		if st != nil {
			clients[redisClientKey(&st.cfg.Limits)] = true
		}
	}
	for ck, c := range ls.redis {
		if !clients[ck] {
			c.Close()
			delete(ls.redis, ck)
		}
	}
}

func (ls *limiters) close() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for k, l := range ls.byKey {
		l.lim.Close()
		delete(ls.byKey, k)
	}
	for ck, c := range ls.redis {
		c.Close()
		delete(ls.redis, ck)
	}
}

func (ls *limiters) snapshot() []*rateLimit {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	out := make([]*rateLimit, 0, len(ls.byKey))
	for _, l := range ls.byKey {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].scope < out[j].scope })
	return out
}

// allLimits lists the limiters a state uses.
func (st *state) allLimits() []*rateLimit {
	var out []*rateLimit
	if st.defaultLimit != nil {
		out = append(out, st.defaultLimit)
	}
	for _, rt := range st.routes {
		if rt.limit != nil {
			out = append(out, rt.limit)
		}
	}
	for _, acc := range st.accounts {
		if acc.limit != nil {
			out = append(out, acc.limit)
		}
	}
	return out
}

// applyLimit takes one request from rl for key, writes the RateLimit-*
// headers and refuses the request with 429 when the budget is spent. It
// runs before any database work, so a refusal costs none.
func applyLimit(r *request, rl *rateLimit, key []byte) error {
	_, err := applyLimitDecision(r, rl, key)
	return err
}

// applyLimitDecision is applyLimit that also returns the decision.
func applyLimitDecision(r *request, rl *rateLimit, key []byte) (limiter.Decision, error) {
	d := rl.lim.Allow(key, r.ctx.Time())
	h := &r.ctx.Response.Header
	h.SetCanonical(headerRLLimit, smallInt(r, d.Limit))
	h.SetCanonical(headerRLRemaining, smallInt(r, d.Remaining))
	h.SetCanonical(headerRLReset, smallInt(r, d.ResetSeconds()))
	if d.Allowed {
		return d, nil
	}
	return d, &Error{Status: 429, Code: codeRateLimited,
		Message:    fmt.Sprintf("rate limit %s exceeded for this client; retry after %ds", rl.rule, d.RetryAfterSeconds()),
		RetryAfter: d.RetryAfter}
}

// trustedProxies decides which peers may name the client in
// X-Forwarded-For. Nobody is trusted unless limits.trusted_proxies says so.
type trustedProxies []netip.Prefix

func parseTrustedProxies(list []string) (trustedProxies, error) {
	var out trustedProxies
	for _, s := range list {
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("limits.trusted_proxies: %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("limits.trusted_proxies: %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (tp trustedProxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range tp {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the limiter key of a request by IP: the peer's address, or,
// when the peer is a trusted proxy, the right-most address of
// X-Forwarded-For that is not itself a trusted proxy (the left part of the
// header is whatever the client chose to send, so it is never believed).
//
// The key is appended to scratch[:0], which the caller owns.
func clientIP(ctx *fasthttp.RequestCtx, tp trustedProxies, scratch []byte) []byte {
	ip := ctx.RemoteIP()
	if len(tp) == 0 {
		return append(scratch[:0], ip...)
	}
	peer, ok := netip.AddrFromSlice(ip)
	if !ok || !tp.contains(peer) {
		return append(scratch[:0], ip...)
	}
	// Proxies either append to the header or add a line of their own, so
	// every X-Forwarded-For line counts, the last one nearest to us.
	lines := ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor)
	for l := len(lines) - 1; l >= 0; l-- {
		xff := lines[l]
		for len(xff) > 0 {
			i := len(xff) - 1
			for i >= 0 && xff[i] != ',' {
				i--
			}
			hop := bytes.Trim(xff[i+1:], " \t")
			if i < 0 {
				xff = nil
			} else {
				xff = xff[:i]
			}
			a, err := netip.ParseAddr(b2s(hop))
			if err != nil {
				return append(scratch[:0], ip...) // a garbled header names nobody: key by the proxy
			}
			if !tp.contains(a) {
				return append(scratch[:0], a.AsSlice()...)
			}
		}
	}
	return append(scratch[:0], ip...)
}

// smallInts holds the decimal text of 0..1023, so the common header values
// cost a slice index instead of a conversion.
var smallInts = func() (t [1024][]byte) {
	for i := range t {
		t[i] = strconv.AppendInt(nil, int64(i), 10)
	}
	return t
}()

// smallInt returns n's decimal text, from the table or r's scratch buffer
// (valid until the next use of r.buf).
func smallInt(r *request, n int64) []byte {
	if n >= 0 && n < int64(len(smallInts)) {
		return smallInts[n]
	}
	r.buf = strconv.AppendInt(r.buf[:0], n, 10)
	return r.buf
}
