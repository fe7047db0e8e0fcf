package config

// Upstream balancing modes.
const (
	BalanceRoundRobin = "round_robin"
	BalanceLeastConn  = "least_conn"
	BalanceHash       = "hash"
)

// Upstream is a pool of HTTP servers that upstream routes proxy to (DESIGN §9). Targets and
// breakers are kept across reloads when their upstream is unchanged.
type Upstream struct {
	// Targets are the servers; at least one. Their URLs must be unique within the upstream.
	Targets []Target `yaml:"targets"`
	// Balance picks a target per request: round_robin (default; weighted), least_conn (the
	// target with the fewest requests in flight, weights breaking ties) or hash (consistent
	// hashing on HashKey, so one client keeps its target while the targets stay up).
	Balance string `yaml:"balance"`
	// HashKey is what hash balancing hashes; required with hash, refused otherwise:
	// header.X, query.X, path.X (each route of the upstream needs a {X} segment), jwt.X (each
	// route needs auth: jwt) or ip (the client address, as limits.trusted_proxies tells it).
	// A request without the value goes round robin.
	HashKey string `yaml:"hash_key"`
	// ConnectTimeout bounds opening one connection to a target; a connect that times out
	// counts as a failure and may be retried. Default 1s; must be > 0.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// Timeout bounds the whole exchange with the upstream, from the first connect to the last
	// byte of the response, retries included; past it the client gets 504 upstream_timeout
	// (or a cut connection once the response has started). Default 10s; 0 means none (for
	// long streams). Raise it for slow uploads.
	Timeout Duration `yaml:"timeout"`
	// MaxConnsPerTarget caps the connections open to each target; a request that finds them
	// all busy waits within Timeout. Default 512; must be > 0.
	MaxConnsPerTarget int `yaml:"max_conns_per_target"`
	// Retries is how many other targets a failed request tries: idempotent methods only (GET,
	// HEAD, OPTIONS, PUT, DELETE), on connect errors, resets, 502, 503 and 504; a request
	// whose streamed body has already gone out is not retried. Default 2; 0 never retries.
	Retries int `yaml:"retries"`
	// HealthCheck, when set, probes every target; absent means no active checks (breakers
	// still take failing targets out).
	HealthCheck *HealthCheck `yaml:"health_check"`
	// CircuitBreaker, when set, stops sending to a target that keeps failing; absent means no
	// breaker.
	CircuitBreaker *CircuitBreaker `yaml:"circuit_breaker"`
	// TLS configures connections to https targets.
	TLS UpstreamTLS `yaml:"tls"`
}

// Target is one server of an upstream.
type Target struct {
	// URL is http://host[:port] or https://host[:port], with no user info, query or fragment,
	// and no path other than "/" (use a route's rewrite to add a base path). The port defaults
	// to the scheme's.
	URL string `yaml:"url"`
	// Weight is the target's share of requests relative to the others'. Default 1; must be
	// > 0.
	Weight int `yaml:"weight"`
}

// HealthCheck actively probes targets: a GET of Path every Interval; a 2xx within Timeout is
// a success. A target is taken out after Unhealthy failures in a row and put back after
// Healthy successes in a row. Targets start healthy.
type HealthCheck struct {
	// Path is the probed path, starting with /; required. It may hold a query.
	Path string `yaml:"path"`
	// Interval is the time between probes of one target. Default 2s; must be > 0.
	Interval Duration `yaml:"interval"`
	// Timeout bounds one probe. Default 1s; must be > 0 and at most Interval.
	Timeout Duration `yaml:"timeout"`
	// Healthy is the successes in a row that put a target back. Default 2; at least 1.
	Healthy int `yaml:"healthy"`
	// Unhealthy is the failures in a row that take a target out. Default 3; at least 1.
	Unhealthy int `yaml:"unhealthy"`
}

// CircuitBreaker is a target's passive health: the breaker opens (the target gets no
// requests) on Failures consecutive failures, or when the failure ratio over Window reaches
// ErrorRatio with at least MinRequests in the window; after OpenFor it half-opens and lets
// HalfOpenRequests through: if they succeed it closes, else it opens again. Failures are
// connect errors, resets, timeouts and 5xx answers. While every target's breaker is open the
// client gets 503 with Retry-After.
type CircuitBreaker struct {
	// Failures is the consecutive failures that open the breaker. Default 5; at least 1.
	Failures int `yaml:"failures"`
	// Window is the sliding window ErrorRatio is measured over. Default 10s; must be > 0.
	Window Duration `yaml:"window"`
	// ErrorRatio is the failed share of the window's requests that opens the breaker, in
	// (0, 1]. Default 0.5.
	ErrorRatio float64 `yaml:"error_ratio"`
	// MinRequests is the fewest requests in the window for ErrorRatio to apply. Default 20; at
	// least 1.
	MinRequests int `yaml:"min_requests"`
	// OpenFor is how long the breaker stays open before half-opening. Default 30s; must be > 0.
	OpenFor Duration `yaml:"open_for"`
	// HalfOpenRequests is how many trial requests a half-open breaker lets through. Default 1;
	// at least 1.
	HalfOpenRequests int `yaml:"half_open_requests"`
}

// UpstreamTLS configures TLS to an upstream's https targets; it is refused when no target is
// https. Without it, https targets are verified against the system's roots with the target's
// host as the server name.
type UpstreamTLS struct {
	// CAFile is a PEM bundle of the CAs that sign the targets' certificates, instead of the
	// system's roots; relative to the config file's directory. Load checks that it exists.
	CAFile string `yaml:"ca_file"`
	// ServerName is the name sent in SNI and verified in the certificate, instead of the
	// target's host (for targets given by IP address).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any certificate. Default false; for tests only. It cannot be
	// combined with CAFile.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// IsZero reports whether t configures nothing.
func (t UpstreamTLS) IsZero() bool { return t == UpstreamTLS{} }
