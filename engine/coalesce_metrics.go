package engine

import (
	"github.com/pgfast/pgfast/sqlexec"
	"github.com/prometheus/client_golang/prometheus"
)

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
	st.eachCoalescing(func(route string, cs sqlexec.CoalesceStats) {
		ch <- prometheus.MustNewConstMetric(descCoalescedRuns, prometheus.CounterValue, float64(cs.Runs), route)
		ch <- prometheus.MustNewConstMetric(descCoalescedKeyed, prometheus.CounterValue, float64(cs.Keyed), route)
		ch <- prometheus.MustNewConstMetric(descCoalesced, prometheus.CounterValue, float64(cs.Members), route)
		ch <- prometheus.MustNewConstMetric(descCoalesceWaiting, prometheus.GaugeValue, float64(cs.Waiting), route)
	})
}

// eachCoalescing calls fn with the name and counts of every route whose
// statement coalesces.
func (st *state) eachCoalescing(fn func(route string, cs sqlexec.CoalesceStats)) {
	for _, rt := range st.routes {
		if rt.stmt != nil && rt.stmt.Coalesces() {
			fn(rt.cfg.Name, rt.stmt.CoalesceStats())
		}
	}
}
