package engine

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgfast/pgfast/script"
	"github.com/pgfast/pgfast/upstream"
)

// The upstream metrics of DESIGN §9, rendered from upstream.Stats at
// scrape time.
var (
	descUpRequests = prometheus.NewDesc("pgfast_upstream_requests_total", "Requests sent to an upstream target, by status class (or error).", []string{"upstream", "target", "code"}, nil)
	descUpDuration = prometheus.NewDesc("pgfast_upstream_duration_seconds", "Upstream exchanges to the response head, retries included.", []string{"upstream"}, nil)
	descUpRetries  = prometheus.NewDesc("pgfast_upstream_retries_total", "Requests tried again on another target.", []string{"upstream"}, nil)
	descUpUp       = prometheus.NewDesc("pgfast_upstream_target_up", "1 when the target passes its health checks.", []string{"upstream", "target"}, nil)
	descUpBreaker  = prometheus.NewDesc("pgfast_upstream_breaker_state", "The target's circuit breaker: 0 closed, 1 half-open, 2 open.", []string{"upstream", "target"}, nil)
)

var codeClasses = [5]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

type upstreamCollector struct{ e *Engine }

func (c *upstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUpRequests, descUpDuration, descUpRetries, descUpUp, descUpBreaker} {
		ch <- d
	}
}

func (c *upstreamCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.e.state.Load()
	if st == nil {
		return
	}
	for name, gu := range st.upstreams {
		s := gu.up.Stats()
		ch <- prometheus.MustNewConstMetric(descUpRetries, prometheus.CounterValue, float64(s.Retries), name)
		ch <- durationHistogram(name, &s)
		for _, t := range s.Targets {
			for i, n := range t.Codes {
				ch <- prometheus.MustNewConstMetric(descUpRequests, prometheus.CounterValue, float64(n), name, t.URL, codeClasses[i])
			}
			failed := t.ConnectErrors + t.Resets + t.Timeouts + t.Saturated + t.OtherErrors
			ch <- prometheus.MustNewConstMetric(descUpRequests, prometheus.CounterValue, float64(failed), name, t.URL, "error")
			up := 0.0
			if t.Up {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descUpUp, prometheus.GaugeValue, up, name, t.URL)
			ch <- prometheus.MustNewConstMetric(descUpBreaker, prometheus.GaugeValue, float64(t.BreakerState), name, t.URL)
		}
	}
}

// durationHistogram turns the upstream's (non-cumulative) duration counts
// into a Prometheus histogram.
func durationHistogram(name string, s *upstream.Stats) prometheus.Metric {
	buckets := make(map[float64]uint64, len(upstream.DurationBounds))
	var cum, total uint64
	for i, b := range upstream.DurationBounds {
		cum += uint64(s.DurationCounts[i])
		buckets[b.Seconds()] = cum
	}
	total = cum + uint64(s.DurationCounts[len(upstream.DurationBounds)])
	return prometheus.MustNewConstHistogram(descUpDuration, total, s.DurationSum.Seconds(), buckets, name)
}

// The script metrics of DESIGN §10, from script.Stats at scrape time.
var (
	descScriptErrors   = prometheus.NewDesc("pgfast_script_errors_total", "Route script calls that failed (runtime error, timeout, memory bound).", []string{"route"}, nil)
	descScriptDuration = prometheus.NewDesc("pgfast_script_duration_seconds", "Route script calls (on_request and on_response).", []string{"route"}, nil)
)

type scriptCollector struct{ e *Engine }

func (c *scriptCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descScriptErrors
	ch <- descScriptDuration
}

func (c *scriptCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.e.state.Load()
	if st == nil {
		return
	}
	for _, rt := range st.routes {
		if rt.ep.script == nil {
			continue
		}
		s := rt.ep.script.Stats()
		ch <- prometheus.MustNewConstMetric(descScriptErrors, prometheus.CounterValue, float64(s.Errors), rt.cfg.Name)
		buckets := make(map[float64]uint64, len(script.DurationBounds))
		var cum uint64
		for i, b := range script.DurationBounds {
			cum += uint64(s.DurationCounts[i])
			buckets[b.Seconds()] = cum
		}
		total := cum + uint64(s.DurationCounts[len(script.DurationBounds)])
		ch <- prometheus.MustNewConstHistogram(descScriptDuration, total, s.DurationSum.Seconds(), buckets, rt.cfg.Name)
	}
}
