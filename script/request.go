package script

import (
	"net/textproto"
)

// HeaderAccess is how a script reads and changes a request's or a
// response's headers; the engine adapts its HTTP library's headers to it
// (fasthttp's RequestHeader and ResponseHeader fit in a few lines). Get
// returns "" for a missing header; names are case-insensitive as the
// implementation defines them.
type HeaderAccess interface {
	Get(key string) string
	Set(key, value string)
	Del(key string)
}

// QueryAccess is how a script reads the request's query arguments
// (req.query[k]); Lookup reports whether k is present.
type QueryAccess interface {
	Lookup(key string) (string, bool)
}

// QueryMap is a QueryAccess over a map.
type QueryMap map[string]string

// Lookup returns m[key].
func (m QueryMap) Lookup(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// HeaderMap is a HeaderAccess over a map with canonical MIME header keys
// ("x-user" and "X-User" are one header). The engine uses its HTTP
// library's headers instead; HeaderMap serves tests and callers without
// one.
type HeaderMap map[string]string

// Get returns the header's value, "" when missing.
func (h HeaderMap) Get(key string) string { return h[textproto.CanonicalMIMEHeaderKey(key)] }

// Set replaces the header's value.
func (h HeaderMap) Set(key, value string) { h[textproto.CanonicalMIMEHeaderKey(key)] = value }

// Del removes the header.
func (h HeaderMap) Del(key string) { delete(h, textproto.CanonicalMIMEHeaderKey(key)) }

// Request is what a script sees of the request (req in Lua). The engine
// fills it per request; Path and Body are the fields a script may change
// (req.path = "…", req.body = "…"), and the engine applies them when
// OnRequest returns nil. Headers are changed in place through Headers.
//
// The script package reads the fields only during OnRequest and
// OnResponse and keeps none of them (every string a script gets is its
// own copy), so the engine may reuse a Request, its Body and its maps
// once the call returns.
type Request struct {
	// Method is the HTTP method (req.method).
	Method string
	// Path is the request path without the query (req.path); a script may
	// set it, and OnRequest leaves the new value here.
	Path string
	// Query gives req.query[k]; nil means no arguments.
	Query QueryAccess
	// Headers gives req.headers:get/set/del; nil means none (get answers
	// nil, set and del do nothing).
	Headers HeaderAccess
	// Body is the request body (req.body, a Lua string). A script may set
	// it; Body is then a new slice the script package does not keep.
	Body []byte
	// JWT holds the verified token's claims (req.jwt as a table: JSON
	// types as json.decode gives them); nil without a token (req.jwt is
	// nil then).
	JWT map[string]any
	// IP is the client's address (req.ip).
	IP string
	// Route is the route's name or pattern (req.route).
	Route string
}

// Response is what on_response sees of the response (res in Lua). Status
// and Body may be changed by the script (res.status = 201, res.body =
// "…"); headers are changed in place through Headers.
type Response struct {
	// Status is the HTTP status code (res.status).
	Status int
	// Headers gives res.headers:get/set/del; nil means none.
	Headers HeaderAccess
	// Body is the response body (res.body). Set by a script, it is a new
	// slice the script package does not keep.
	Body []byte
}

// Answer is on_request's direct answer: return {status = 403, body =
// "…", headers = {…}}. The engine sends it instead of calling the
// backend.
type Answer struct {
	// Status is the HTTP status: 200 when the script gave none; a status
	// outside 100-599 is a Runtime error.
	Status int
	// Headers are the headers the script listed (nil if none).
	Headers map[string]string
	// Body is the body (a string in Lua); nil if none.
	Body []byte
}
