package config

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Route result shapes.
const (
	ResultOne   = "one"
	ResultMany  = "many"
	ResultValue = "value"
)

// Route coalescing modes (Route.Coalesce).
const (
	// CoalesceAuto runs the waiting requests of a one/value route together: as one keyed
	// statement when the route's SQL is one plain SELECT of $1 alone, pipelined otherwise.
	CoalesceAuto = "auto"
	// CoalescePipeline always pipelines them, one statement per request.
	CoalescePipeline = "pipeline"
	// CoalesceOff runs every request on a connection of its own.
	CoalesceOff = "off"
)

// Route and account authentication modes.
const (
	AuthNone  = "none"
	AuthToken = "token"
	AuthJWT   = "jwt"
)

// Route backends, as Route.Backend names them; DESIGN §9.
const (
	BackendSQL      = "sql"
	BackendUpstream = "upstream"
	BackendStatic   = "static"
	BackendMock     = "mock"
)

// Route is a declared route: requests matched by host, method and path, handed to exactly one
// backend: sql (a prepared statement), upstream (an HTTP proxy), static (files) or mock (a
// fixed answer). What runs in front of the backend (auth, rate limits, params, cache, CORS,
// compression) is the same for all four; keys that only make sense for one backend are refused
// on the others.
//
// Matching (the engine's job, stated here as the contract): the most specific route wins, an
// exact host before a wildcard before no host, then an exact path before a {param} path before
// a prefix, and among prefixes the longest. Validate refuses two routes that match the same
// requests: the same host pattern, the same path shape ({param} names aside) and a method in
// common.
type Route struct {
	// Name identifies the route in metrics, logs and cache purges; required, unique,
	// [a-z0-9_-]+.
	Name string `yaml:"name"`
	// Host, when set, is the only Host the route answers: exact (api.example.com) or a wildcard
	// (*.example.com: any name ending in .example.com, at any depth, but not example.com
	// itself). Lower case, no port, no trailing dot. Default "": any host.
	Host string `yaml:"host"`
	// Methods are the methods the route answers, written `method: POST` or
	// `method: [GET, POST]`; see Methods. Default [GET] for sql routes, [GET, HEAD] for static
	// routes (the only ones they allow), and empty, meaning any method, for upstream and mock
	// routes. sql routes allow GET, POST, PUT, PATCH and DELETE; upstream and mock routes add
	// HEAD and OPTIONS.
	Methods Methods `yaml:"method"`
	// Path starts with / and may hold {name} segments (/customers/{id}), each a path param. A
	// last segment of * makes it a prefix: /api/users/* matches /api/users, /api/users/ and
	// every path below; /* matches every path. * is allowed nowhere else.
	Path string `yaml:"path"`

	// SQL is one statement with $1, $2, … placeholders, filled from Params in order. It makes
	// the route an sql route.
	SQL string `yaml:"sql"`
	// Upstream names an entry of upstreams; it makes the route an upstream route, proxied with
	// the request body and the response streamed both ways.
	Upstream string `yaml:"upstream"`
	// Static serves files from a directory; it makes the route a static route.
	Static *Static `yaml:"static"`
	// Mock answers with a fixed status, headers and body; it makes the route a mock route.
	Mock *Mock `yaml:"mock"`

	// Params are the route's parameters: $1 first for an sql route; for the other backends they
	// are checked and can key the cache. body.* params are refused on upstream routes, whose
	// bodies stream.
	Params []RouteParam `yaml:"params"`
	// Auth is none (default), token (an account's API token) or jwt (needs auth.jwt).
	Auth string `yaml:"auth"`
	// RateLimit, when set, is a per-client limit of this route on top of limits.default.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// Cache is how long a response is cached. Default 0: not cached. Any backend; on upstream,
	// static and mock routes only GET and HEAD responses are cached (so the route must allow
	// one of them), and on upstream routes only 200s the upstream lets be stored (no
	// no-store, private or Set-Cookie), for at most the upstream's max-age.
	Cache Duration `yaml:"cache"`
	// CacheKey lists the params ("path.id") that key the cache. Default: all params.
	CacheKey []string `yaml:"cache_key"`
	// StaleIfError serves a cached body up to this old when the backend (database or
	// upstream) is down or busy. Default 0: never.
	StaleIfError Duration `yaml:"stale_if_error"`
	// StaleWhileRevalidate serves an expired body up to this old while one request refreshes
	// it. Default 0: never.
	StaleWhileRevalidate Duration `yaml:"stale_while_revalidate"`
	// MaxBodyBytes bounds this route's request bodies (413 past it). Default 0, which Load
	// replaces with server.max_body_bytes; it may be larger than that (an upload route of
	// 256MiB, say), as upstream bodies stream rather than sit in memory.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// ResponseHeaders change the response's headers, for any backend; see HeaderRules.
	ResponseHeaders HeaderRules `yaml:"response_headers"`
	// Script is a Lua file (relative to the config file) whose on_request and on_response
	// run around the backend, for any backend (DESIGN §10). Default none.
	Script string `yaml:"script"`

	// Result (sql routes only) is one (default: the first row as an object, 404 when none),
	// many (an array) or value (the first column of the first row, 404 when none).
	Result string `yaml:"result"`
	// InvalidateOn (sql routes only) lists tables; NOTIFY pgfast_invalidate, '<table>' purges
	// the route's cache.
	InvalidateOn []string `yaml:"invalidate_on"`
	// Timeout (sql routes only) is the route's statement_timeout. Absent means the database's;
	// Load always sets it on sql routes. 0 means none. An upstream's timeout is
	// upstreams.*.timeout.
	Timeout *Duration `yaml:"timeout"`
	// Settings (sql routes only) are run-time settings applied with SET LOCAL for this route's
	// statement.
	Settings Settings `yaml:"settings"`
	// Coalesce (sql routes) says how requests for the route that wait for a connection share
	// one: auto (default for result one and value), pipeline, or off (default, and the only
	// choice, for result many). Behind PgBouncer (statement_cache: describe) routes never
	// coalesce.
	Coalesce string `yaml:"coalesce"`
	// Database (sql routes only) names the database the route reads. Default "main"; point
	// read routes at a replica here.
	Database string `yaml:"database"`

	// Rewrite (upstream routes only) rewrites the path sent upstream; absent sends it as is.
	Rewrite *Rewrite `yaml:"rewrite"`
	// HostHeader (upstream routes only) is the Host sent upstream, host or host:port. Default
	// "": the client's Host is kept.
	HostHeader string `yaml:"host_header"`
	// RequestHeaders (upstream routes only) change the headers sent upstream; see HeaderRules.
	RequestHeaders HeaderRules `yaml:"request_headers"`
}

// Backend returns the route's backend: BackendSQL, BackendUpstream, BackendStatic or
// BackendMock, or "" when none is set. With several set (which Validate refuses) it returns the
// first in that order.
func (r *Route) Backend() string {
	if b := r.backends(); len(b) > 0 {
		return b[0]
	}
	return ""
}

// backends lists the backends the route sets, in the order Backend prefers them.
func (r *Route) backends() []string {
	var b []string
	if r.SQL != "" {
		b = append(b, BackendSQL)
	}
	if r.Upstream != "" {
		b = append(b, BackendUpstream)
	}
	if r.Static != nil {
		b = append(b, BackendStatic)
	}
	if r.Mock != nil {
		b = append(b, BackendMock)
	}
	return b
}

// IsPrefix reports whether the route's path ends in /*, matching every path below it.
func (r *Route) IsPrefix() bool { return strings.HasSuffix(r.Path, "/*") }

// Methods are a route's HTTP methods: one string or a list in the file. Methods are
// case-sensitive (RFC 9110 §9.1), so they are written in upper case. Empty means any method.
type Methods []string

// Any reports whether m allows every method (it is empty).
func (m Methods) Any() bool { return len(m) == 0 }

// Has reports whether m allows method.
func (m Methods) Has(method string) bool { return len(m) == 0 || slices.Contains(m, method) }

// String renders m as "GET", "GET,POST", or "*" for any method.
func (m Methods) String() string {
	if len(m) == 0 {
		return "*"
	}
	return strings.Join(m, ",")
}

// overlap returns the methods both m and o allow; any (nil) when both allow any, and ok false
// when they have none in common.
func (m Methods) overlap(o Methods) (common Methods, ok bool) {
	switch {
	case m.Any():
		return o, true
	case o.Any():
		return m, true
	}
	for _, x := range m {
		if o.Has(x) {
			common = append(common, x)
		}
	}
	return common, len(common) > 0
}

// UnmarshalYAML reads a method or a list of methods.
func (m *Methods) UnmarshalYAML(n *yaml.Node) error {
	d := newDecoder("")
	m.decodeAt(d, n, "")
	return d.err()
}

func (m *Methods) decodeAt(d *decoder, n *yaml.Node, path string) {
	var list []string
	switch n.Kind {
	case yaml.SequenceNode:
		d.decode(n, valueOf(&list), path)
	case yaml.MappingNode:
		d.fail(n, path, "must be a method such as GET or a list such as [GET, POST], got a map")
		return
	default:
		list = make([]string, 1)
		d.decode(n, valueOf(&list[0]), path)
	}
	*m = list
}

// Static serves the files of a directory (static routes). A request's path below the route's
// prefix names a file; nothing outside Dir is served (no .., no symbolic links out). ETag,
// Last-Modified and Range are honoured, and a file's .gz or .br twin is sent to clients that
// accept it.
type Static struct {
	// Dir is the directory served, relative to the config file's directory; required. Load
	// checks that it exists and is a directory.
	Dir string `yaml:"dir"`
	// Index is the file served for a directory's path. Default "index.html"; "" serves no index
	// (such requests get 404).
	Index string `yaml:"index"`
	// MaxAge is the Cache-Control max-age sent with files. Default 0: "no-cache", so browsers
	// revalidate with the ETag each time.
	MaxAge Duration `yaml:"max_age"`
}

// Mock is a fixed answer (mock routes), for stubs and retired paths.
type Mock struct {
	// Status is the HTTP status, 100 to 599. Default 200. 1xx, 204 and 304 cannot have a body.
	Status int `yaml:"status"`
	// Headers are sent as written (no placeholders). Default none; Content-Type is then
	// text/plain; charset=utf-8 when there is a body.
	Headers map[string]string `yaml:"headers"`
	// Body is sent as written. Default "".
	Body string `yaml:"body"`
}

// Rewrite rewrites the path sent upstream (upstream routes): the first match of Match in the
// path (without the query, which passes unchanged) is replaced by Replace.
type Rewrite struct {
	// Match is an RE2 regular expression (https://github.com/google/re2/wiki/Syntax); required.
	Match string `yaml:"match"`
	// Replace is the replacement; $1, ${1} and ${name} insert submatches (regexp.Expand's
	// syntax) and $$ is a dollar sign. Each group it names must exist in Match. "" deletes the
	// match.
	Replace string `yaml:"replace"`
}

// HeaderRules change headers: Remove first, then Set (replacing any value), then Add
// (appending another value). Header names compare case-insensitively. Values are templates:
// {path.X}, {query.X}, {header.X}, {jwt.X}, {ip} and {request_id} insert the request's value
// (empty when absent), and {{ and }} write literal braces; see ParseTemplate. A {path.X} needs a
// {X} segment in the route's path and a {jwt.X} needs auth: jwt. Host, Content-Length and the
// hop-by-hop headers cannot be set or added (host_header sets Host).
type HeaderRules struct {
	// Set maps a header to the value that replaces any the message has.
	Set map[string]string `yaml:"set"`
	// Add maps a header to a value appended to those the message has.
	Add map[string]string `yaml:"add"`
	// Remove lists headers taken out of the message.
	Remove []string `yaml:"remove"`
}

// IsZero reports whether h changes nothing.
func (h HeaderRules) IsZero() bool { return len(h.Set) == 0 && len(h.Add) == 0 && len(h.Remove) == 0 }
