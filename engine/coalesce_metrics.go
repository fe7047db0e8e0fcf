package engine

import "github.com/prometheus/client_golang/prometheus"

var (
	descCoalescedRuns = prometheus.NewDesc("pgfast_route_coalesced_runs_total",
		"Pipelined runs of a route's statement: requests that waited for a connection, run together on one.", []string{"route"}, nil)
	descCoalescedKeyed = prometheus.NewDesc("pgfast_route_coalesced_keyed_runs_total",
		"Runs answered by one keyed statement (the route's SELECT over all their keys) rather than pipelined.", []string{"route"}, nil)
	descCoalesced = prometheus.NewDesc("pgfast_route_coalesced_total",
		"Requests answered by a route's pipelined runs.", []string{"route"}, nil)
	descCoalesceWaiting = prometheus.NewDesc("pgfast_route_coalesce_waiting",
		"Requests waiting now in runs whose leader waits for a connection.", []string{"route"}, nil)
)

// coalesceCollector renders the `one` and `value` routes' pipelined runs
// (sqlexec's coalescing). The counts belong to the compiled statement, so
// a reload that recompiles a route starts them again from zero.
type coalesceCollector struct{ e *Engine }

func (c *coalesceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCoalescedRuns
	ch <- descCoalescedKeyed
	ch <- descCoalesced
	ch <- descCoalesceWaiting
}

func (c *coalesceCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.e.state.Load()
	if st == nil {
		return
	}
	for _, rt := range st.routes {
		if rt.stmt == nil || !rt.stmt.Coalesces() {
			continue
		}
		cs := rt.stmt.CoalesceStats()
		ch <- prometheus.MustNewConstMetric(descCoalescedRuns, prometheus.CounterValue, float64(cs.Runs), rt.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descCoalescedKeyed, prometheus.CounterValue, float64(cs.Keyed), rt.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descCoalesced, prometheus.CounterValue, float64(cs.Members), rt.cfg.Name)
		ch <- prometheus.MustNewConstMetric(descCoalesceWaiting, prometheus.GaugeValue, float64(cs.Waiting), rt.cfg.Name)
	}
}
