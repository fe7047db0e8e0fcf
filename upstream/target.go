package upstream

import (
	"crypto/tls"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/valyala/fasthttp"
)

// healthBodyLimit bounds a health check's response body: it is read and
// dropped, and a larger one counts as a failed check.
const healthBodyLimit = 1 << 20

// node is one server of an upstream: its client, its health, its breaker
// and its counters. It lives in a pool and moves with it across a reload.
type node struct {
	idx    int
	url    string
	scheme string // "http" or "https", set on each request's URI
	addr   string // host:port, set as each request's URI host
	weight int64
	seed   uint64 // the target's hash for rendezvous hashing

	hc     *fasthttp.HostClient // requests
	health *fasthttp.HostClient // health checks, apart so a busy pool cannot fail them

	up       atomic.Bool
	inflight atomic.Int64
	br       breaker

	// Counters; see TargetStats.
	requests    atomic.Int64
	codes       [5]atomic.Int64
	connectErrs atomic.Int64
	resets      atomic.Int64
	timeouts    atomic.Int64
	otherErrs   atomic.Int64
	saturated   atomic.Int64
	failures    atomic.Int64
	retries     atomic.Int64

	// Health-check run lengths, touched only by the target's check
	// goroutine.
	okRun, failRun int
}

// noWait stands for "no timeout" where fasthttp reads 0 as "do not wait"
// (HostClient.MaxConnWaitTimeout): about 292 years.
const noWait = time.Duration(math.MaxInt64)

// newTarget builds the target for p from o (validated).
func newTarget(idx int, p parsedTarget, o *Options) *node {
	t := &node{
		idx:    idx,
		url:    p.url,
		scheme: p.scheme,
		addr:   p.addr,
		weight: int64(p.weight),
		seed:   xxhash.Sum64String(p.scheme + "://" + p.addr),
	}
	t.up.Store(true)
	t.br.init(o.Breaker)
	connect := o.ConnectTimeout
	isTLS := p.scheme == "https"
	var tlsConfig *tls.Config
	if isTLS {
		// What fasthttp would build: the caller's configuration, with the
		// target's host as ServerName unless it sets one.
		tlsConfig = &tls.Config{} //nolint:gosec // MinVersion: crypto/tls's default
		if o.TLS != nil {
			tlsConfig = o.TLS.Clone()
		}
		if tlsConfig.ServerName == "" {
			tlsConfig.ServerName = p.host
		}
	}
	dial := func(addr string, timeout time.Duration) (net.Conn, error) {
		// The request's remaining time or ConnectTimeout, whichever is
		// shorter, bounds the connect and the TLS handshake together.
		if timeout <= 0 || timeout > connect {
			timeout = connect
		}
		if !isTLS {
			return fasthttp.DialTimeout(addr, timeout)
		}
		return dialTLS(addr, timeout, tlsConfig)
	}
	t.hc = &fasthttp.HostClient{
		Addr:        p.addr,
		IsTLS:       isTLS,
		TLSConfig:   o.TLS,
		DialTimeout: dial,
		MaxConns:    o.MaxConnsPerTarget,
		// Both bound a whole exchange already (Do passes its deadline);
		// they are set so that fasthttp's dial loop is bounded too. 0 (no
		// Timeout) sets no deadline on the connection; the dial above
		// bounds the connect and TLS handshake either way.
		ReadTimeout:  o.Timeout,
		WriteTimeout: o.Timeout,
		// A request that finds every connection busy waits for one, up to
		// its deadline (or without one), instead of failing at once with
		// ErrNoFreeConns.
		MaxConnWaitTimeout: connWait(o.Timeout),
		// LIFO reuses the warmest connection and lets the rest go idle
		// and close: fewer connections to each target at a steady load.
		ConnPoolStrategy: fasthttp.LIFO,
		// One more attempt on the same target when a kept-alive
		// connection turns out to be closed by the target (the classic
		// idle-timeout race); RetryIfErr limits it to the methods we
		// retry ourselves. Requests with a body stream are never retried
		// by fasthttp.
		MaxIdemponentCallAttempts: 2,
		RetryIfErr: func(req *fasthttp.Request, _ int, err error) (bool, bool) {
			return false, isIdempotent(&req.Header) && !isTimeoutErr(err)
		},
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
		// Header names stay normalized: the engine looks response headers
		// up (Cache-Control, Set-Cookie) and normalized names make those
		// lookups exact; HTTP header names are case-insensitive anyway.
		DisableHeaderNamesNormalizing: false,
		SecureErrorLogMessage:         true,
	}
	if o.MaxResponseBodySize > 0 {
		t.hc.MaxResponseBodySize = o.MaxResponseBodySize
	} else {
		t.hc.StreamResponseBody = true
	}
	if o.HealthCheck != nil {
		t.health = &fasthttp.HostClient{
			Addr:                      p.addr,
			IsTLS:                     isTLS,
			TLSConfig:                 o.TLS,
			DialTimeout:               dial,
			MaxConns:                  1,
			MaxResponseBodySize:       healthBodyLimit,
			MaxIdemponentCallAttempts: 1,
			NoDefaultUserAgentHeader:  true,
			DisablePathNormalizing:    true,
		}
	}
	return t
}

// connWait is HostClient.MaxConnWaitTimeout for Options.Timeout: the same,
// or noWait for no timeout.
func connWait(timeout time.Duration) time.Duration {
	if timeout == 0 {
		return noWait
	}
	return timeout
}

// dialTLS connects to addr and makes the TLS handshake, both within
// timeout. fasthttp would make the handshake on the connection's first
// write, bounded by WriteTimeout alone: nothing at all without a Timeout.
// A handshake that times out is fasthttp.ErrTLSHandshakeTimeout, a connect
// error like fasthttp's own.
func dialTLS(addr string, timeout time.Duration, config *tls.Config) (net.Conn, error) {
	deadline := time.Now().Add(timeout)
	raw, err := fasthttp.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, config)
	if err := conn.SetDeadline(deadline); err != nil {
		_ = raw.Close()
		return nil, err
	}
	if err := conn.Handshake(); err != nil {
		_ = raw.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return nil, fasthttp.ErrTLSHandshakeTimeout
		}
		return nil, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return conn, nil
}

// isTimeoutErr reports whether err is a timeout, which is never retried.
func isTimeoutErr(err error) bool {
	te, ok := err.(interface{ Timeout() bool })
	return ok && te.Timeout()
}

// isIdempotent reports whether a request with this method may be retried:
// GET, HEAD, OPTIONS, PUT and DELETE (RFC 9110 §9.2.2, less TRACE, which
// the gateway does not forward anyway).
func isIdempotent(h *fasthttp.RequestHeader) bool {
	return h.IsGet() || h.IsHead() || h.IsOptions() || h.IsPut() || h.IsDelete()
}

// count records an attempt's outcome in the target's counters.
func (t *node) count(o outcome, status int) {
	t.requests.Add(1)
	switch o {
	case outOK, outBadStatus:
		if c := status / 100; c >= 1 && c <= 5 {
			t.codes[c-1].Add(1)
		}
	case outConnect:
		t.connectErrs.Add(1)
	case outReset:
		t.resets.Add(1)
	case outTimeout:
		t.timeouts.Add(1)
	case outSaturated:
		t.saturated.Add(1)
	default:
		t.otherErrs.Add(1)
	}
	if o.failure() {
		t.failures.Add(1)
	}
}

// closeIdle closes the target's idle connections.
func (t *node) closeIdle() {
	t.hc.CloseIdleConnections()
	if t.health != nil {
		t.health.CloseIdleConnections()
	}
}
