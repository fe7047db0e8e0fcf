package upstream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"
)

// ErrInvalidOptions is wrapped by every error Options.Validate returns.
var ErrInvalidOptions = errors.New("upstream: invalid options")

// MaxTargets bounds the number of targets of one upstream: a request keeps
// the set of targets it already tried in a fixed-size bitset on the stack,
// so that a retry allocates nothing.
const MaxTargets = 256

// maxWeight bounds Target.Weight, so that the smooth round robin's sums of
// weights cannot come near an overflow.
const maxWeight = 1_000_000

// Balance selects how a request's target is chosen.
type Balance int

const (
	// RoundRobin is smooth weighted round robin (nginx's algorithm): over
	// any run of W = Σweights requests each available target receives
	// exactly its weight, interleaved rather than in bursts.
	RoundRobin Balance = iota
	// LeastConn sends a request to the available target with the fewest
	// requests in flight relative to its weight (in-flight ÷ weight, as
	// nginx's least_conn); ties are broken by smooth weighted round robin.
	LeastConn
	// Hash sends requests with the same hash key to the same target:
	// weighted rendezvous hashing (highest random weight) of the key. A
	// target that is unavailable is skipped deterministically (the key goes
	// to its next-highest target) and adding a target moves only the keys it
	// now wins, about 1/N of them. A request with an empty key is balanced
	// by round robin.
	Hash
)

// String returns the configuration spelling: round_robin, least_conn, hash.
func (b Balance) String() string {
	switch b {
	case RoundRobin:
		return "round_robin"
	case LeastConn:
		return "least_conn"
	case Hash:
		return "hash"
	}
	return "Balance(" + strconv.Itoa(int(b)) + ")"
}

// Target is one server of an upstream.
type Target struct {
	// URL is "http://host:port" or "https://host:port" (the port defaults
	// to 80 or 443). No path, query or user info: the request's own path is
	// sent as it is.
	URL string
	// Weight is the target's share of requests under RoundRobin and Hash
	// and its capacity under LeastConn: 1 to 1,000,000, required (0 is
	// refused; the configuration's weight defaults to 1).
	Weight int
}

// HealthCheck configures active health checks: every Interval each target
// gets GET Path (with Host set to the target's host:port), bounded by
// Timeout. A 2xx or 3xx answer is a success; anything else, including a
// connect error or a timeout, is a failure. A target starts up, goes down
// after Unhealthy consecutive failures and comes back up after Healthy
// consecutive successes. A target that is down gets no requests.
//
// Every field is required: none has a default here (the configuration's
// health_check sets them all).
type HealthCheck struct {
	// Path is the path checked, starting with /.
	Path string
	// Interval is the time between two checks of one target; > 0.
	Interval time.Duration
	// Timeout bounds one check; > 0, and it should be below Interval.
	Timeout time.Duration
	// Healthy is the number of consecutive successes that bring a target
	// back; at least 1.
	Healthy int
	// Unhealthy is the number of consecutive failures that take a target
	// out; at least 1.
	Unhealthy int
}

// Breaker configures a passive circuit breaker per target. A failure is a
// connect error (including a TLS handshake failure), a reset (the
// connection closed or reset before a whole response head arrived), a
// timeout, or a response with status 502, 503 or 504 (the gateway class of
// 5xx, as Envoy's gateway-failure outlier detection counts); other statuses,
// 500 included, are the application's answer and count as successes.
//
// Closed, the breaker opens on Failures consecutive failures, or when at
// least MinRequests outcomes in the sliding Window have an error ratio of at
// least ErrorRatio. Open, it refuses requests for OpenFor; then it is
// half-open and lets HalfOpenRequests probes through at a time: a probe that
// succeeds closes it, one that fails opens it again for OpenFor.
//
// No field has a default here (the configuration's circuit_breaker sets
// them all): a zero ErrorRatio turns the ratio trigger off, every other
// field is required.
type Breaker struct {
	// Failures is the number of consecutive failures that open the
	// breaker; at least 1.
	Failures int
	// Window is the span of the sliding window of the error-ratio trigger,
	// kept as 10 buckets of Window/10; > 0.
	Window time.Duration
	// ErrorRatio in (0, 1] enables the error-ratio trigger: failures ÷
	// outcomes over Window. 0 disables it.
	ErrorRatio float64
	// MinRequests is the least number of outcomes in Window before the
	// ratio counts; at least 1.
	MinRequests int
	// OpenFor is how long an open breaker refuses requests before it
	// half-opens; > 0.
	OpenFor time.Duration
	// HalfOpenRequests is the number of probes in flight at a time while
	// half-open; at least 1.
	HalfOpenRequests int
}

// Options configures an Upstream.
//
// Defaults live in one place: the configuration's (config.Default,
// documented in the config reference), which the engine passes through
// unchanged. So this package sets no default of its own: a zero here means
// zero (off, none, no limit), never "the default", and a field that cannot
// be zero is required and refused by Validate when it is. Required: Targets
// (each with a Weight), ConnectTimeout and MaxConnsPerTarget, and every
// field of a HealthCheck and of a Breaker (but its ErrorRatio). The one
// exception is Logger, which the configuration has no key for.
type Options struct {
	// Name is the upstream's name, used in errors, logs and Stats.
	Name string
	// Targets are the servers requests are balanced over, at least one and
	// at most MaxTargets, with distinct URLs.
	Targets []Target
	// Balance selects the algorithm; the zero value is RoundRobin.
	Balance Balance
	// ConnectTimeout bounds opening each connection to a target: the TCP
	// connect and, for https, the TLS handshake (and never more than what
	// is left of Timeout). Required (> 0). A connect that fails or times
	// out is retried on another target (see Retries).
	ConnectTimeout time.Duration
	// Timeout bounds the whole exchange, retries included: from Do's start
	// to the end of the response body. With streamed responses the
	// deadline stays on the connection while the caller reads
	// resp.BodyStream(). Past it Do returns ErrTimeout. 0 means no
	// deadline (for long streams): each connect is still bounded by
	// ConnectTimeout, but a slow target is waited for as long as it takes,
	// and so is a free connection when all MaxConnsPerTarget are busy.
	Timeout time.Duration
	// MaxConnsPerTarget bounds the connections to each target. A request
	// that finds them all busy waits for one up to the exchange's deadline
	// (without one when Timeout is 0). Required (> 0).
	MaxConnsPerTarget int
	// Retries is how many other targets a failed request may be tried on:
	// idempotent methods only (GET, HEAD, OPTIONS, PUT, DELETE), never a
	// request whose body is a stream, and only after a connect error, a
	// reset or a 502/503/504 answer. A target is tried once per request.
	// 0 never retries.
	Retries int
	// HealthCheck enables active health checks; nil disables them (every
	// target stays up).
	HealthCheck *HealthCheck
	// Breaker enables a circuit breaker per target; nil disables it.
	Breaker *Breaker
	// TLS is the client configuration for https targets (root CAs,
	// ServerName, InsecureSkipVerify), built by the caller. Nil means the
	// system roots and the target's host name. The upstream does not
	// change it.
	TLS *tls.Config
	// MaxResponseBodySize, when positive, makes Do read each response body
	// whole, refusing one larger than this many bytes (Do then returns an
	// error wrapping ErrNoTarget and fasthttp.ErrBodyTooLarge). Zero, the
	// default, streams every body (resp.BodyStream()) so responses of any
	// size pass with bounded memory.
	MaxResponseBodySize int
	// Logger receives health and breaker transitions. Nil means
	// slog.Default(): the one default of this package, for a field the
	// configuration has no key for (the engine always sets it).
	Logger *slog.Logger
}

// normalize returns a copy of o that the Upstream keeps: its Targets,
// HealthCheck and Breaker are copies (the caller may change its own), and a
// nil Logger is slog.Default(). It sets no other field.
func (o Options) normalize() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Targets = append([]Target(nil), o.Targets...)
	if o.HealthCheck != nil {
		h := *o.HealthCheck
		o.HealthCheck = &h
	}
	if o.Breaker != nil {
		b := *o.Breaker
		o.Breaker = &b
	}
	return o
}

// Validate reports whether o describes an upstream this package can build.
// Errors wrap ErrInvalidOptions and name the field.
func (o Options) Validate() error {
	_, err := o.check()
	return err
}

// parsedTarget is a Target's URL taken apart.
type parsedTarget struct {
	url    string // as given
	scheme string // "http" or "https"
	addr   string // host:port
	host   string // host, for TLS ServerName
	weight int
}

// check validates o and returns its targets parsed.
func (o Options) check() ([]parsedTarget, error) {
	bad := func(format string, args ...any) ([]parsedTarget, error) {
		return nil, fmt.Errorf("%w: upstream %q: %s", ErrInvalidOptions, o.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case len(o.Targets) == 0:
		return bad("Targets is empty; want at least one target")
	case len(o.Targets) > MaxTargets:
		return bad("%d targets; at most %d are allowed", len(o.Targets), MaxTargets)
	case o.Balance < RoundRobin || o.Balance > Hash:
		return bad("Balance = %d; want RoundRobin, LeastConn or Hash", int(o.Balance))
	case o.ConnectTimeout <= 0:
		return bad("ConnectTimeout = %s; want a positive duration", o.ConnectTimeout)
	case o.Timeout < 0:
		return bad("Timeout = %s; want 0 (no deadline) or a positive duration", o.Timeout)
	case o.MaxConnsPerTarget <= 0:
		return bad("MaxConnsPerTarget = %d; want a positive number", o.MaxConnsPerTarget)
	case o.Retries < 0:
		return bad("Retries = %d; want 0 or more", o.Retries)
	case o.MaxResponseBodySize < 0:
		return bad("MaxResponseBodySize = %d; want 0 (stream) or a positive size", o.MaxResponseBodySize)
	}
	if h := o.HealthCheck; h != nil {
		switch {
		case len(h.Path) == 0 || h.Path[0] != '/':
			return bad("HealthCheck.Path = %q; want a path starting with /", h.Path)
		case h.Interval <= 0:
			return bad("HealthCheck.Interval = %s; want a positive duration", h.Interval)
		case h.Timeout <= 0:
			return bad("HealthCheck.Timeout = %s; want a positive duration", h.Timeout)
		case h.Healthy <= 0:
			return bad("HealthCheck.Healthy = %d; want a positive count", h.Healthy)
		case h.Unhealthy <= 0:
			return bad("HealthCheck.Unhealthy = %d; want a positive count", h.Unhealthy)
		}
	}
	if b := o.Breaker; b != nil {
		switch {
		case b.Failures <= 0:
			return bad("Breaker.Failures = %d; want a positive count", b.Failures)
		case b.Window <= 0:
			return bad("Breaker.Window = %s; want a positive duration", b.Window)
		case b.ErrorRatio < 0 || b.ErrorRatio > 1 || b.ErrorRatio != b.ErrorRatio:
			return bad("Breaker.ErrorRatio = %v; want 0 (off) or a ratio in (0, 1]", b.ErrorRatio)
		case b.MinRequests <= 0:
			return bad("Breaker.MinRequests = %d; want a positive count", b.MinRequests)
		case b.OpenFor <= 0:
			return bad("Breaker.OpenFor = %s; want a positive duration", b.OpenFor)
		case b.HalfOpenRequests <= 0:
			return bad("Breaker.HalfOpenRequests = %d; want a positive count", b.HalfOpenRequests)
		}
	}
	out := make([]parsedTarget, len(o.Targets))
	seen := make(map[string]bool, len(o.Targets))
	for i, t := range o.Targets {
		if t.Weight <= 0 || t.Weight > maxWeight {
			return bad("Targets[%d].Weight = %d; want 1 to %d", i, t.Weight, maxWeight)
		}
		p, err := parseTarget(t.URL)
		if err != nil {
			return bad("Targets[%d].URL = %q: %v", i, t.URL, err)
		}
		if seen[p.addr+p.scheme] {
			return bad("Targets[%d].URL = %q: the same target is listed twice", i, t.URL)
		}
		seen[p.addr+p.scheme] = true
		p.weight = t.Weight
		out[i] = p
	}
	return out, nil
}

// parseTarget takes a target URL apart.
func parseTarget(raw string) (parsedTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return parsedTarget{}, err
	}
	var port string
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return parsedTarget{}, errors.New("want an http:// or https:// URL")
	}
	switch {
	case u.Host == "":
		return parsedTarget{}, errors.New("no host")
	case u.User != nil:
		return parsedTarget{}, errors.New("user info is not allowed")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return parsedTarget{}, errors.New("no path, query or fragment is allowed; the request's path is sent as it is")
	}
	host := u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return parsedTarget{}, fmt.Errorf("bad port %q", p)
		}
		port = p
	}
	return parsedTarget{
		url:    raw,
		scheme: u.Scheme,
		addr:   net.JoinHostPort(host, port),
		host:   host,
	}, nil
}
