package engine

import (
	"io"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/jwtauth"
	"github.com/pgfast/pgfast/limiter"
	"github.com/pgfast/pgfast/script"
	"github.com/pgfast/pgfast/tracing"
)

// request is the per-request scratch state, pooled. It must not be kept
// after the handler returns: its byte slices point into the RequestCtx.
type request struct {
	ctx    *fasthttp.RequestCtx
	st     *state
	ep     *endpoint
	params pathParams
	values routeValues
	hasher cache.Hasher
	buf    []byte                     // scratch for header values
	keyBuf []byte                     // scratch for the limiter key
	body   map[string]json.RawMessage // a route's JSON body, parsed on first use
	zbuf   []byte                     // scratch for compressing a dynamic body
	claims *jwtauth.Claims            // the verified JWT of an auth: jwt route
	acc    *account                   // the account of an auth: token endpoint
	// decision is the rate limiter's, when limited says a limit ran.
	decision limiter.Decision
	limited  bool
	// reqID holds the request id once requestID made it.
	reqID    [maxRequestIDLen]byte
	reqIDLen int
	// upstream and target name what an upstream route forwarded to, for
	// the access log.
	upstream, target string
	// cache is what the cache stage did, for the access log's {cache}.
	cache cacheOutcome
	// timing holds the stage durations Server-Timing reports.
	timing timings
	// scriptReq is the script's view of the request, reused.
	scriptReq script.Request
	// dynamic marks a response built for this request alone (not a cached
	// entry): it may be compressed on the way out.
	dynamic bool
	// span is the request's server span and upSpan its upstream
	// exchange's; both zero unless tracing is on (endSpans zeroes them).
	span, upSpan tracing.Span
}

var requestPool = sync.Pool{New: func() any { return &request{buf: make([]byte, 0, 256)} }}

func acquireRequest(ctx *fasthttp.RequestCtx, st *state) *request {
	r := requestPool.Get().(*request)
	r.ctx, r.st = ctx, st
	return r
}

// maxPooledBuf keeps one odd request's scratch from staying in the pool.
const maxPooledBuf = 64 << 10

func releaseRequest(r *request) {
	r.ctx, r.st, r.ep, r.body, r.dynamic, r.claims, r.acc, r.limited = nil, nil, nil, nil, false, nil, nil, false
	r.reqIDLen, r.upstream, r.target, r.cache, r.timing = 0, "", "", cacheNone, timings{}
	r.scriptReq = script.Request{}
	if cap(r.zbuf) > maxPooledBuf {
		r.zbuf = nil
	}
	r.params.n, r.values.n = 0, 0
	if cap(r.buf) > maxPooledBuf {
		r.buf = make([]byte, 0, 256)
	}
	r.buf = r.buf[:0]
	requestPool.Put(r)
}

var (
	serverName      = []byte("pgfast")
	contentTypeJSON = []byte("application/json")
	endpointUnknown = "unmatched"
)

// handle is the outermost fasthttp handler: route, serve, map errors once,
// observe metrics. It is the one place that recovers panics, because
// fasthttp recovers none and a panic would take the process down.
func (e *Engine) handle(ctx *fasthttp.RequestCtx) {
	st := e.state.Load()
	r := acquireRequest(ctx, st)
	defer e.finish(r)
	ctx.Response.Header.SetServerBytes(serverName) // a route's response_headers may remove it
	if e.tracer != nil {
		r.startSpan(e.tracer)
	}
	if st.cors != nil && st.cors.apply(ctx) {
		return
	}
	if n := ctx.Request.Header.ContentLength(); n > 0 && int64(n) > st.maxBody {
		// Larger than any route takes: refused before routing, and the
		// connection closed rather than the body read.
		writeError(ctx, errBodyTooLarge(st.maxBody))
		ctx.SetConnectionClose()
		return
	}
	ep, res := st.router.lookup(ctx.Host(), ctx.Method(), ctx.Path(), &r.params)
	switch res {
	case lookupNoPath:
		writeError(ctx, errNotFound("no route for "+string(ctx.Path())))
		return
	case lookupNoMethod:
		allow := st.router.allowed(ctx.Host(), ctx.Path())
		sort.Strings(allow)
		ctx.Response.Header.Set(fasthttp.HeaderAllow, strings.Join(allow, ", "))
		writeError(ctx, &Error{Status: 405, Code: codeMethodNotAllowed, Message: string(ctx.Method()) + " is not allowed here; allowed: " + strings.Join(allow, ", ")})
		return
	}
	r.ep = ep
	if err := checkBody(r, ep); err != nil {
		e.fail(r, err)
		r.ctx.SetConnectionClose() // the unread rest of the body is still on the wire
		return
	}
	if err := ep.run(r); err != nil {
		e.fail(r, err)
		return
	}
	if r.dynamic && st.compress != nil {
		st.compress.apply(r)
	}
}

// finish recovers a panic into a 500, writes X-Request-Id and
// Server-Timing, records the request's metrics and access-log line and
// releases the scratch state.
func (e *Engine) finish(r *request) {
	if p := recover(); p != nil {
		e.log.Error("BUG: panic while serving a request", "panic", p, "path", string(r.ctx.Path()), "request_id", string(r.requestID()), "stack", string(debug.Stack()))
		writeError(r.ctx, errInternal())
		r.ctx.SetConnectionClose()
	}
	r.setResponseHeaders()
	if r.span.Started() {
		r.endSpans()
	}
	e.metrics.observe(r.ep, r.ctx)
	if r.st.accessLog != nil {
		r.st.accessLog.log(r)
	}
	if r.ep != nil && r.ep.audited {
		e.auditRoute(r)
	}
	releaseRequest(r)
}

// fail answers err in the JSON error shape; unclassified errors are logged
// here (the client sees only "internal").
func (e *Engine) fail(r *request, err error) {
	he := errorFrom(err)
	if he.Status == 500 || he.Status == 503 && he.SQLState == "" {
		e.log.Error("request failed", "endpoint", r.ep.name, "status", he.Status, "request_id", string(r.requestID()), "err", err)
	}
	writeError(r.ctx, he)
}

// checkBody bounds the request body by the endpoint's limit. A server
// that streams (newServer) buffers bodies up to server.max_body_bytes and
// hands larger ones over as a stream (fasthttp's StreamRequestBody): an
// endpoint that streams keeps it so (bounded while it reads), any other
// reads it here, bounded. A server that does not has read every body
// whole, bounded by server.max_body_bytes only: a chunked one declared no
// length, so its size is checked here against the endpoint's own limit.
func checkBody(r *request, ep *endpoint) error {
	req := &r.ctx.Request
	limit := ep.maxBody
	if limit <= 0 {
		limit = int64(r.st.cfg.Server.MaxBodyBytes)
	}
	if n := req.Header.ContentLength(); n > 0 && int64(n) > limit {
		return errBodyTooLarge(limit)
	}
	if !req.IsBodyStream() {
		if int64(len(req.Body())) > limit {
			return errBodyTooLarge(limit)
		}
		return nil
	}
	if ep.streamsBody {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.ctx.RequestBodyStream(), limit+1))
	if err != nil {
		return errBadRequest("cannot read the request body: " + err.Error())
	}
	if int64(len(body)) > limit {
		return errBodyTooLarge(limit)
	}
	req.SetBodyRaw(body)
	return nil
}
