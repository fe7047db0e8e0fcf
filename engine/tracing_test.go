package engine

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// otlpReceiver is an OTLP/HTTP collector in the test: it keeps the spans
// POSTed to /v1/traces.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func startOTLPReceiver(t testing.TB) *otlpReceiver {
	rc := &otlpReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != "POST" || req.URL.Path != "/v1/traces" {
			t.Errorf("receiver: got %s %s; want POST /v1/traces", req.Method, req.URL.Path)
		}
		body, _ := io.ReadAll(req.Body)
		var msg collectorpb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &msg); err != nil {
			t.Errorf("receiver: cannot decode the export: %v", err)
			w.WriteHeader(400)
			return
		}
		rc.mu.Lock()
		for _, rs := range msg.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				rc.spans = append(rc.spans, ss.Spans...)
			}
		}
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// trace returns the spans received with trace id traceID (hex).
func (rc *otlpReceiver) trace(traceID string) []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range rc.spans {
		if hex.EncodeToString(s.TraceId) == traceID {
			out = append(out, s)
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			if v, ok := kv.Value.Value.(*commonpb.AnyValue_IntValue); ok {
				return fmt.Sprint(v.IntValue)
			}
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// TestTracing: with tracing on, each request exports a server span whose
// parent is the client's traceparent, with a child per stage that ran; an
// upstream route's upstream receives a traceparent in the same trace whose
// parent is the upstream span.
func TestTracing(t *testing.T) {
	rc := startOTLPReceiver(t)
	var upTraceparent, upTracestate sync.Map // path -> header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		upTraceparent.Store(req.URL.Path, req.Header.Get("Traceparent"))
		upTracestate.Store(req.URL.Path, req.Header.Get("Tracestate"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(up.Close)
	gateway := `
  - {name: gw, path: /gw/*, upstream: users}
  - {name: gw-cached, path: /gwc/*, upstream: users, cache: 30s}
cache:`
	// sample: 0, so that only the requests whose traceparent says sampled
	// are recorded: the parent decides (parent-based sampling).
	ts := startServer(t, parseConfig(t, strings.Replace(routeConfig, "\ncache:", gateway, 1)+fmt.Sprintf(`
accounts:
  - {id: reader, api_token: sk_reader, allowed_operations: [SELECT], rate_limit: 1000/s}
upstreams:
  users: {targets: [{url: %q}]}
tracing: {otlp_endpoint: %q, sample: 0, service_name: pgfast-test}
`, up.URL, rc.URL)), pgtest.NewDatabase(t, routeSchema))
	if ts.e.tracer == nil {
		t.Fatal("tracing.otlp_endpoint is set but the engine has no tracer")
	}

	n := 0
	// send makes a request in a trace of its own, sampled or not, and
	// returns the trace id and the client's span id.
	send := func(method, path, body string, sampled bool, headers ...string) (traceID, parent string, r response) {
		t.Helper()
		n++
		traceID, parent = fmt.Sprintf("%032x", 0xabc000+n), fmt.Sprintf("%016x", 0xdef000+n)
		flags := "00"
		if sampled {
			flags = "01"
		}
		headers = append(headers, "Traceparent", "00-"+traceID+"-"+parent+"-"+flags, "Tracestate", "vendor=v1")
		return traceID, parent, do(t, method, ts.url+path, body, headers...)
	}
	type want struct {
		traceID, parent, name, status string
		stages                        []string
	}
	var wants []want
	check := func(method, path, body string, status int, name string, stages []string, headers ...string) string {
		t.Helper()
		traceID, parent, r := send(method, path, body, true, headers...)
		r.expect(t, status)
		wants = append(wants, want{traceID, parent, name, fmt.Sprint(status), stages})
		return traceID
	}
	check("GET", "/items/1", "", 200, "item", []string{"cache", "db"}) // miss: the lookup, then the fill
	ts.e.cache.Wait()
	check("GET", "/items/1", "", 200, "item", []string{"cache"}) // hit
	check("GET", "/items?limit=2", "", 200, "items", []string{"acquire", "db", "encode"})
	gwTrace := check("GET", "/gw/x", "", 200, "gw", []string{"upstream"})
	gwcTrace := check("GET", "/gwc/y", "", 200, "gw-cached", []string{"cache", "upstream"})
	check("POST", "/v1/query", `{"query":"SELECT 1 AS one"}`, 200, "/v1/query", []string{"auth", "limit"}, "Authorization", "Bearer sk_reader")
	check("GET", "/nowhere", "", 404, "unmatched", nil)
	// Not sampled: nothing exported, but the upstream still gets a
	// traceparent in the caller's trace, flagged unsampled.
	unsampled, _, r := send("GET", "/gw/z", "", false)
	r.expect(t, 200)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.e.tracer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, w := range wants {
		spans := rc.trace(w.traceID)
		var srv *tracepb.Span
		for _, s := range spans {
			if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
				srv = s
			}
		}
		if srv == nil {
			t.Errorf("%s: no server span received in trace %s (got %d spans)", w.name, w.traceID, len(spans))
			continue
		}
		if got := hex.EncodeToString(srv.ParentSpanId); got != w.parent {
			t.Errorf("%s: server span's parent: got %s; want the traceparent's %s", w.name, got, w.parent)
		}
		if srv.Name != w.name || attr(srv, "http.route") != w.name || attr(srv, "http.response.status_code") != w.status ||
			attr(srv, "http.request.method") == "" || len(attr(srv, "pgfast.request_id")) != 16 {
			t.Errorf("%s: server span %q with %v; want name, route, method, status %s and a request id", w.name, srv.Name, srv.Attributes, w.status)
		}
		var stages []string
		for _, s := range spans {
			if s == srv {
				continue
			}
			stages = append(stages, s.Name)
			if string(s.ParentSpanId) != string(srv.SpanId) {
				t.Errorf("%s: stage span %s's parent is %x; want the server span %x", w.name, s.Name, s.ParentSpanId, srv.SpanId)
			}
			if s.StartTimeUnixNano < srv.StartTimeUnixNano || s.EndTimeUnixNano > srv.EndTimeUnixNano || s.StartTimeUnixNano > s.EndTimeUnixNano {
				t.Errorf("%s: stage span %s [%d, %d] lies outside the server span [%d, %d]", w.name, s.Name,
					s.StartTimeUnixNano, s.EndTimeUnixNano, srv.StartTimeUnixNano, srv.EndTimeUnixNano)
			}
		}
		if fmt.Sprint(slices.Sorted(slices.Values(stages))) != fmt.Sprint(slices.Sorted(slices.Values(w.stages))) {
			t.Errorf("%s: stage spans %v; want %v", w.name, stages, w.stages)
		}
	}
	// The upstream saw a traceparent in the caller's trace, whose parent
	// is the exported upstream span; the tracestate went along.
	for path, traceID := range map[string]string{"/gw/x": gwTrace, "/gwc/y": gwcTrace} {
		v, _ := upTraceparent.Load(path)
		tp, _ := v.(string)
		parts := strings.Split(tp, "-")
		if len(parts) != 4 || parts[1] != traceID || parts[3] != "01" {
			t.Errorf("%s: upstream got traceparent %q; want one in trace %s, sampled", path, tp, traceID)
			continue
		}
		var upSpan *tracepb.Span
		for _, s := range rc.trace(traceID) {
			if s.Name == "upstream" {
				upSpan = s
			}
		}
		if upSpan == nil || hex.EncodeToString(upSpan.SpanId) != parts[2] || upSpan.Kind != tracepb.Span_SPAN_KIND_CLIENT {
			t.Errorf("%s: upstream's parent %s is not the exported upstream span %v", path, parts[2], upSpan)
		} else if attr(upSpan, "pgfast.upstream") != "users" {
			t.Errorf("%s: upstream span attributes %v; want pgfast.upstream users", path, upSpan.Attributes)
		}
		if ts, _ := upTracestate.Load(path); ts != "vendor=v1" {
			t.Errorf("%s: upstream got tracestate %q; want vendor=v1", path, ts)
		}
	}
	if got := rc.trace(unsampled); len(got) != 0 {
		t.Errorf("an unsampled request exported %d spans", len(got))
	}
	v, _ := upTraceparent.Load("/gw/z")
	if tp, _ := v.(string); !strings.HasPrefix(tp, "00-"+unsampled+"-") || !strings.HasSuffix(tp, "-00") {
		t.Errorf("unsampled: upstream got traceparent %q; want one in trace %s, unsampled", tp, unsampled)
	}
}

// TestTracingOff: without tracing.otlp_endpoint the engine has no tracer,
// and a client's traceparent reaches an upstream as it was sent.
func TestTracingOff(t *testing.T) {
	var got sync.Map
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got.Store("tp", req.Header.Get("Traceparent"))
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
upstreams: {users: {targets: [{url: %q}]}}
routes: [{name: gw, path: /gw/*, upstream: users}]
`, up.URL)), pgtest.NewDatabase(t, ""))
	if ts.e.tracer != nil {
		t.Fatal("tracing is off by default, but the engine has a tracer")
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	get(t, ts.url+"/gw/a", "Traceparent", tp).expect(t, 200)
	if v, _ := got.Load("tp"); v != tp {
		t.Errorf("upstream got traceparent %q; want the client's %q", v, tp)
	}
}
