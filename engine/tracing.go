package engine

import (
	"context"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/tracing"
)

// Tracing (DESIGN §7) is off unless tracing.otlp_endpoint is set, and then
// costs one nil check per request (handle), one per finish and one per
// upstream request built: the engine's tracer is nil and the request's
// spans are zero. When it is on, a request gets its server span when it
// arrives (so that an upstream request can carry its traceparent), and its
// stage spans when it finishes, built after the fact from the stage times
// Server-Timing recorded: the pipeline itself is not touched.

var (
	headerTraceparent = []byte("Traceparent")
	headerTracestate  = []byte("Tracestate")
)

// tracerShutdownTimeout bounds Close's flush of the spans still buffered:
// a collector that is down must not hold up a shutdown.
const tracerShutdownTimeout = 5 * time.Second

// newTracer returns the tracer of cfg.Tracing; nil when it is off.
func newTracer(cfg *config.Config, e *Engine) (*tracing.Tracer, error) {
	tc := cfg.Tracing
	if !tc.Enabled() {
		return nil, nil
	}
	return tracing.New(tracing.Options{
		Endpoint:    tc.OTLPEndpoint,
		Sample:      tc.Sample,
		ServiceName: tc.ServiceName,
		OnError: func(err error) {
			e.log.Warn("tracing: cannot export spans", "err", err)
		},
	})
}

// startSpan starts r's server span at the request's arrival, its parent
// the request's traceparent/tracestate when valid. It is named when the
// request finishes (endSpans), once the route is known.
func (r *request) startSpan(t *tracing.Tracer) {
	h := &r.ctx.Request.Header
	r.span = t.Start(h.PeekBytes(headerTraceparent), h.PeekBytes(headerTracestate), endpointUnknown, r.ctx.Time())
}

// startUpstreamSpan starts the upstream span, a child of r's server span,
// and writes it into the outgoing request's traceparent (replacing the one
// copied from the client): the upstream's own spans then hang under it.
func (r *request) startUpstreamSpan(h *fasthttp.RequestHeader) {
	r.upSpan.End(time.Now()) // a second exchange for one request (rare): the first one's span ends
	r.upSpan = r.span.Child(stageNames[stageUpstream], tracing.KindClient, time.Now())
	r.upSpan.Inject(h)
}

// endSpans names and ends r's server span, with a child span per stage
// that ran, from Server-Timing's durations and end times. For a streamed
// body it runs before the body is written, so the server span, like
// Server-Timing's total, lasts until the first byte.
func (r *request) endSpans() {
	sp, up := r.span, r.upSpan
	r.span, r.upSpan = tracing.Span{}, tracing.Span{}
	end := time.Now()
	t := &r.timing
	if up.Started() {
		upEnd := end
		if t.set&(1<<stageUpstream) != 0 {
			upEnd = t.ended(stageUpstream)
		}
		if up.Recording() {
			up.SetString("pgfast.upstream", r.upstream)
			if r.target != "" {
				up.SetString("server.address", r.target)
			}
		}
		up.End(upEnd)
	}
	if !sp.Recording() {
		sp.End(end) // unsampled: nothing is exported, nothing more to build
		return
	}
	name := endpointUnknown
	if r.ep != nil {
		name = r.ep.name
	}
	status := r.ctx.Response.StatusCode()
	sp.SetName(name)
	sp.SetString("http.request.method", string(r.ctx.Method()))
	sp.SetString("http.route", name)
	sp.SetString("url.path", string(r.ctx.Path()))
	sp.SetInt("http.response.status_code", status)
	sp.SetString("pgfast.request_id", string(r.requestID()))
	if r.cache != cacheNone {
		sp.SetString("pgfast.cache", string(cacheOutcomeNames[r.cache]))
	}
	if status >= 500 {
		sp.SetError("HTTP " + strconv.Itoa(status))
	}
	for s := range numStages {
		if t.set&(1<<s) == 0 || s == stageUpstream && up.Started() {
			continue
		}
		stageEnd := t.ended(s)
		sp.Child(stageNames[s], tracing.KindInternal, stageEnd.Add(-t.dur[s])).End(stageEnd)
	}
	sp.End(end)
}

// closeTracer exports the spans still buffered, within
// tracerShutdownTimeout.
func (e *Engine) closeTracer() {
	if e.tracer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), tracerShutdownTimeout)
	defer cancel()
	if err := e.tracer.Shutdown(ctx); err != nil {
		e.log.Warn("tracing: spans lost at shutdown", "err", err)
	}
}
