package engine

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"
)

// metrics is the engine's Prometheus registry. The leaf packages expose
// Stats() snapshots; collectors here read them at scrape time, so pool,
// cache and limiter carry no metrics dependency.
type metrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
	unknown  *endpointMetrics
}

// requestBuckets cover a cache hit (tens of µs) to a slow query (seconds).
var requestBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics(e *Engine) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pgfast_http_request_duration_seconds",
		Help:    "Time from reading a request to handing its response to the connection, by route and status.",
		Buckets: requestBuckets,
	}, []string{"route", "status"})
	m.reg.MustRegister(m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "pgfast"}),
		&statsCollector{e: e},
		&coalesceCollector{e: e},
	)
	m.unknown = m.endpoint(endpointUnknown)
	return m
}

// endpointMetrics caches one endpoint's histogram children by status code,
// so observing a request costs an array index and an atomic add instead of
// a label-value lookup.
type endpointMetrics struct {
	name     string
	vec      *prometheus.HistogramVec
	byStatus [600]atomic.Pointer[observer]
}

type observer struct{ prometheus.Observer }

func (m *metrics) endpoint(name string) *endpointMetrics {
	return &endpointMetrics{name: name, vec: m.duration}
}

func (em *endpointMetrics) observer(status int) prometheus.Observer {
	if status < 0 || status >= len(em.byStatus) {
		return em.vec.WithLabelValues(em.name, strconv.Itoa(status))
	}
	if o := em.byStatus[status].Load(); o != nil {
		return o.Observer
	}
	o := &observer{em.vec.WithLabelValues(em.name, strconv.Itoa(status))}
	em.byStatus[status].Store(o)
	return o.Observer
}

func (m *metrics) observe(ep *endpoint, ctx *fasthttp.RequestCtx) {
	em := m.unknown
	if ep != nil {
		em = ep.metrics
	}
	em.observer(ctx.Response.StatusCode()).Observe(since(ctx).Seconds())
}
