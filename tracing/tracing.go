// Package tracing wraps the OpenTelemetry Go SDK for pgfast (DESIGN §7): a
// Tracer that samples parent-based at a ratio, takes its parent from a W3C
// traceparent/tracestate, and exports spans in batches over OTLP/HTTP. The
// engine holds a *Tracer (nil when tracing is off) and Span values, and
// imports nothing of OpenTelemetry itself.
//
// It is a leaf: it imports nothing of ours and knows nothing of HTTP
// servers; a header is something with a Set(key, value string) method.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TracesPath is what New appends to Options.Endpoint, as the SDK does to
// OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP's default traces path).
const TracesPath = "/v1/traces"

// instrumentationName names the tracer (the spans' instrumentation scope).
const instrumentationName = "github.com/pgfast/pgfast"

// Options configure a Tracer. The zero value is not usable: Endpoint is
// required (an empty Endpoint means tracing is off, and the caller then
// makes no Tracer at all).
type Options struct {
	// Endpoint is the OTLP/HTTP collector's base URL
	// (http://otel-collector:4318); spans are POSTed to
	// Endpoint + "/v1/traces" as protobuf. An http:// URL is sent in the
	// clear, https:// over TLS.
	Endpoint string
	// Sample is the ratio, 0..1, of root traces recorded: a request
	// without a traceparent is sampled by its trace id at this ratio; one
	// with a traceparent follows the parent's sampled flag (ParentBased).
	// 0 records only what a caller's sampled traceparent asks for.
	Sample float64
	// ServiceName is the service.name resource attribute. Default
	// "pgfast".
	ServiceName string
	// Headers are sent with every export (a collector's API key). The
	// SDK's OTEL_EXPORTER_OTLP_HEADERS applies when nil.
	Headers map[string]string
	// BatchTimeout is the longest a finished span waits before its batch
	// is exported. Default 5s (the SDK's); tests lower it.
	BatchTimeout time.Duration
	// OnError receives export failures (a collector down, a rejected
	// batch). The SDK reports them through OpenTelemetry's process-wide
	// error handler, so setting it replaces that handler for the whole
	// process; nil keeps the SDK's (a line on stderr).
	OnError func(error)
}

// Tracer starts spans and exports them. It is safe for concurrent use.
// Shutdown flushes what is buffered and stops the exporter.
type Tracer struct {
	tp *sdktrace.TracerProvider
	tr trace.Tracer
}

// propagator reads and writes W3C Trace Context headers (traceparent and
// tracestate); baggage is not propagated.
var propagator propagation.TraceContext

// New returns a Tracer exporting to o.Endpoint. It does not connect: a
// collector that is down costs dropped batches (reported to OnError), not
// an error here.
func New(o Options) (*Tracer, error) {
	if o.Sample < 0 || o.Sample > 1 || o.Sample != o.Sample {
		return nil, fmt.Errorf("tracing: sample must be between 0 and 1, got %v", o.Sample)
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: otlp endpoint must be an http:// or https:// base URL, got %q", o.Endpoint)
	}
	if o.ServiceName == "" {
		o.ServiceName = "pgfast"
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(strings.TrimSuffix(o.Endpoint, "/") + TracesPath)}
	if o.Headers != nil {
		opts = append(opts, otlptracehttp.WithHeaders(o.Headers))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: cannot create the OTLP/HTTP exporter: %w", err)
	}
	// Schemaless, so that the merge with the SDK's default resource
	// (telemetry.sdk.*, OTEL_RESOURCE_ATTRIBUTES) cannot conflict on a
	// schema URL.
	res, err := sdkresource.Merge(sdkresource.Default(), sdkresource.NewSchemaless(attribute.String("service.name", o.ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("tracing: cannot build the resource: %w", err)
	}
	var batch []sdktrace.BatchSpanProcessorOption
	if o.BatchTimeout > 0 {
		batch = append(batch, sdktrace.WithBatchTimeout(o.BatchTimeout))
	}
	if o.OnError != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(o.OnError))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, batch...),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.Sample))),
		sdktrace.WithResource(res),
	)
	return &Tracer{tp: tp, tr: tp.Tracer(instrumentationName)}, nil
}

// Shutdown exports the spans still buffered, within ctx's deadline, and
// stops the exporter; spans ended afterwards are dropped. Safe on a nil
// Tracer and idempotent (the SDK's TracerProvider.Shutdown is).
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("tracing: cannot flush spans: %w", err)
	}
	return nil
}

// Flush exports the spans ended so far, within ctx's deadline.
func (t *Tracer) Flush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.ForceFlush(ctx)
}

// Kind is a span's role (OpenTelemetry's SpanKind).
type Kind uint8

const (
	KindInternal Kind = iota // a stage inside the process
	KindServer               // the handling of a request received
	KindClient               // a request sent (to an upstream)
)

var kinds = [...]trace.SpanKind{KindInternal: trace.SpanKindInternal, KindServer: trace.SpanKindServer, KindClient: trace.SpanKindClient}

// Start starts a server span named name at start. Its parent is the
// traceparent (with its tracestate) when that is a valid W3C header;
// otherwise the span starts a trace, sampled at Options.Sample. The bytes
// are read, not kept.
func (t *Tracer) Start(traceparent, tracestate []byte, name string, start time.Time) Span {
	ctx := context.Background()
	if len(traceparent) > 0 {
		ctx = propagator.Extract(ctx, incoming{parent: string(traceparent), state: string(tracestate)})
	}
	ctx, sp := t.tr.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
	return Span{t: t, ctx: ctx, span: sp}
}

// Span is a started span, or the zero Span (tracing off: every method is a
// no-op and Started reports false). It is a small value: copy it freely,
// but End it once.
type Span struct {
	t    *Tracer
	ctx  context.Context // holds span, as the parent of children
	span trace.Span
}

// Started reports whether s is a span (not the zero Span).
func (s Span) Started() bool { return s.span != nil }

// Recording reports whether s is sampled: attributes and children of an
// unsampled span are dropped, so callers skip building them.
func (s Span) Recording() bool { return s.span != nil && s.span.IsRecording() }

// Child starts a child of s named name at start.
func (s Span) Child(name string, kind Kind, start time.Time) Span {
	if s.span == nil {
		return Span{}
	}
	ctx, sp := s.t.tr.Start(s.ctx, name, trace.WithSpanKind(kinds[kind]), trace.WithTimestamp(start))
	return Span{t: s.t, ctx: ctx, span: sp}
}

// SetName renames s (a server span is named once its route is known).
func (s Span) SetName(name string) {
	if s.span != nil {
		s.span.SetName(name)
	}
}

// SetString sets the attribute key to value.
func (s Span) SetString(key, value string) {
	if s.span != nil {
		s.span.SetAttributes(attribute.String(key, value))
	}
}

// SetInt sets the attribute key to value.
func (s Span) SetInt(key string, value int) {
	if s.span != nil {
		s.span.SetAttributes(attribute.Int(key, value))
	}
}

// SetError marks s as failed, with description (OpenTelemetry's Error
// status).
func (s Span) SetError(description string) {
	if s.span != nil {
		s.span.SetStatus(codes.Error, description)
	}
}

// End ends s at end. A span is exported (if sampled) once it ends.
func (s Span) End(end time.Time) {
	if s.span != nil {
		s.span.End(trace.WithTimestamp(end))
	}
}

// TraceID returns s's trace id in hex (32 digits), "" for the zero Span.
func (s Span) TraceID() string {
	if s.span == nil {
		return ""
	}
	return s.span.SpanContext().TraceID().String()
}

// SpanID returns s's span id in hex (16 digits), "" for the zero Span.
func (s Span) SpanID() string {
	if s.span == nil {
		return ""
	}
	return s.span.SpanContext().SpanID().String()
}

// HeaderSetter is where Inject writes: an outgoing request's headers
// (*fasthttp.RequestHeader and http.Header both have this method).
type HeaderSetter interface {
	Set(key, value string)
}

// Inject writes s as the parent of a request sent on: traceparent, and
// tracestate when the trace has one. It writes nothing for the zero Span.
func (s Span) Inject(h HeaderSetter) {
	if s.span != nil {
		propagator.Inject(s.ctx, outgoing{h})
	}
}

// incoming is a received request's trace headers as the propagator reads
// them.
type incoming struct{ parent, state string }

func (c incoming) Get(key string) string {
	switch key {
	case "traceparent":
		return c.parent
	case "tracestate":
		return c.state
	}
	return ""
}

func (incoming) Set(string, string) {}

func (incoming) Keys() []string { return []string{"traceparent", "tracestate"} }

// outgoing adapts a HeaderSetter to the propagator's carrier.
type outgoing struct{ h HeaderSetter }

func (outgoing) Get(string) string { return "" }

func (c outgoing) Set(key, value string) { c.h.Set(key, value) }

func (outgoing) Keys() []string { return nil }
