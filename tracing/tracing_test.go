package tracing

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is an OTLP/HTTP collector in the test: it keeps the spans
// POSTed to /v1/traces.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
	svc   []string // service.name of each resource received
	paths []string
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var msg collectorpb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &msg); err != nil {
			t.Errorf("receiver: cannot decode %s: %v", req.URL.Path, err)
			w.WriteHeader(400)
			return
		}
		rc.mu.Lock()
		rc.paths = append(rc.paths, req.Method+" "+req.URL.Path+" "+req.Header.Get("X-Api-Key"))
		for _, rs := range msg.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					rc.svc = append(rc.svc, kv.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				rc.spans = append(rc.spans, ss.Spans...)
			}
		}
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) byName() map[string]*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	m := make(map[string]*tracepb.Span)
	for _, s := range rc.spans {
		m[s.Name] = s
	}
	return m
}

const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
)

type headers map[string]string

func (h headers) Set(k, v string) { h[k] = v }

func TestExportWithParent(t *testing.T) {
	rc := newReceiver(t)
	tr, err := New(Options{Endpoint: rc.srv.URL + "/", Sample: 0, ServiceName: "svc-test", Headers: map[string]string{"X-Api-Key": "k"}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-10 * time.Millisecond)
	sp := tr.Start([]byte("00-"+parentTrace+"-"+parentSpan+"-01"), []byte("vendor=x"), "", t0)
	if !sp.Recording() {
		t.Fatal("a sampled parent did not sample its child (sample 0 is parent-based)")
	}
	sp.SetName("route")
	sp.SetString("http.route", "/x")
	sp.SetInt("http.response.status_code", 502)
	sp.SetError("upstream failed")
	child := sp.Child("db", KindInternal, t0.Add(time.Millisecond))
	child.End(t0.Add(3 * time.Millisecond))
	up := sp.Child("upstream", KindClient, t0.Add(3*time.Millisecond))
	h := headers{}
	up.Inject(h)
	up.End(t0.Add(5 * time.Millisecond))
	sp.End(t0.Add(8 * time.Millisecond))
	if want := "00-" + parentTrace + "-" + up.SpanID() + "-01"; h["traceparent"] != want || h["tracestate"] != "vendor=x" {
		t.Errorf("injected %v; want traceparent %s, tracestate vendor=x", h, want)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := rc.byName()
	srv, db, upSpan := spans["route"], spans["db"], spans["upstream"]
	if srv == nil || db == nil || upSpan == nil {
		t.Fatalf("got spans %v; want route, db and upstream", spans)
	}
	if got := hex.EncodeToString(srv.TraceId); got != parentTrace {
		t.Errorf("server span trace id: got %s; want %s", got, parentTrace)
	}
	if got := hex.EncodeToString(srv.ParentSpanId); got != parentSpan {
		t.Errorf("server span parent: got %s; want %s", got, parentSpan)
	}
	if srv.Kind != tracepb.Span_SPAN_KIND_SERVER || upSpan.Kind != tracepb.Span_SPAN_KIND_CLIENT || db.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("kinds: got %v %v %v; want server, client, internal", srv.Kind, upSpan.Kind, db.Kind)
	}
	for _, c := range []*tracepb.Span{db, upSpan} {
		if string(c.ParentSpanId) != string(srv.SpanId) || string(c.TraceId) != string(srv.TraceId) {
			t.Errorf("%s: parent %x in trace %x; want %x in %x", c.Name, c.ParentSpanId, c.TraceId, srv.SpanId, srv.TraceId)
		}
	}
	if d := time.Duration(db.EndTimeUnixNano - db.StartTimeUnixNano); d != 2*time.Millisecond {
		t.Errorf("db span lasts %s; want the explicit 2ms", d)
	}
	if srv.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("server span status: got %v; want error", srv.Status)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.paths) == 0 || rc.paths[0] != "POST /v1/traces k" {
		t.Errorf("exports: got %q; want POST /v1/traces with the header", rc.paths)
	}
	if len(rc.svc) == 0 || rc.svc[0] != "svc-test" {
		t.Errorf("service.name: got %q; want svc-test", rc.svc)
	}
}

func TestSampling(t *testing.T) {
	rc := newReceiver(t)
	f := func(sample float64, traceparent string, want bool) {
		t.Helper()
		tr, err := New(Options{Endpoint: rc.srv.URL, Sample: sample})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Shutdown(context.Background())
		sp := tr.Start([]byte(traceparent), nil, "x", time.Now())
		defer sp.End(time.Now())
		if got := sp.Recording(); got != want {
			t.Errorf("sample %v, traceparent %q: recording %v; want %v", sample, traceparent, got, want)
		}
		if !sp.Started() || len(sp.TraceID()) != 32 {
			t.Errorf("sample %v, traceparent %q: got trace id %q", sample, traceparent, sp.TraceID())
		}
	}
	f(1, "", true)
	f(0, "", false)
	f(0, "00-"+parentTrace+"-"+parentSpan+"-01", true)
	f(1, "00-"+parentTrace+"-"+parentSpan+"-00", false)
	f(0, "garbage", false) // an invalid header starts a new trace
}

func TestZeroSpan(t *testing.T) {
	var sp Span
	h := headers{}
	sp.SetName("x")
	sp.SetString("k", "v")
	sp.SetError("e")
	sp.Inject(h)
	sp.Child("c", KindInternal, time.Now()).End(time.Now())
	sp.End(time.Now())
	if sp.Started() || sp.Recording() || len(h) != 0 || sp.TraceID() != "" {
		t.Errorf("the zero Span did something: %v", h)
	}
	var tr *Tracer
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestNewErrors(t *testing.T) {
	f := func(o Options, want string) {
		t.Helper()
		if _, err := New(o); err == nil || err.Error() != want {
			t.Errorf("%+v: got %v; want %q", o, err, want)
		}
	}
	f(Options{Endpoint: "otel:4318"}, `tracing: otlp endpoint must be an http:// or https:// base URL, got "otel:4318"`)
	f(Options{Endpoint: "http://otel:4318", Sample: 2}, `tracing: sample must be between 0 and 1, got 2`)
}
