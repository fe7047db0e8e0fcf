package bench

// goal is a README target: its text and the test of a result against it.
type goal struct {
	text string
	met  func(m map[string]float64) bool
}

// goals are the README's targets (DESIGN §8), measured on an 8-core machine.
// ping has none: it is the ceiling the others are divided by.
var goals = map[string]goal{
	ScenarioSelect: {"p50 ≤ 0.8 ms, p99 ≤ 5 ms", func(m map[string]float64) bool {
		return m[MetricP50] <= 0.8 && m[MetricP99] <= 5
	}},
	ScenarioPeak: {"≥ 15,000 req/s", func(m map[string]float64) bool {
		return m[MetricReqPerSec] >= 15_000
	}},
	ScenarioCached: {"≥ 29,000 req/s, hit rate > 99%", func(m map[string]float64) bool {
		return m[MetricReqPerSec] >= 29_000 && m[MetricHitRate] > 0.99
	}},
	ScenarioRows: {"≥ 800,000 rows/s", func(m map[string]float64) bool {
		return m[MetricRowsPerSec] >= 800_000
	}},
	ScenarioBatch: {"p50 < 50 ms", func(m map[string]float64) bool {
		return m[MetricP50] < 50
	}},
	ScenarioPool: {"≥ 99% efficiency", func(m map[string]float64) bool {
		return m[MetricEfficiency] >= 0.99
	}},
}

// ratioScenarios are divided by ping's req/s in the table: the share of the
// machine's HTTP ceiling a database or upstream route reaches. proxy has no
// README target: its own ratio, to the upstream hit directly, is in its
// measured cell.
var ratioScenarios = map[string]bool{ScenarioPeak: true, ScenarioCached: true, ScenarioProxy: true}

// judge fills the targets, Pass, RatioToPing and VsLimit of rep's results.
func judge(rep *Report) {
	var limit float64
	if rep.Limit != nil {
		limit = rep.Limit.ReqPerSec
	}
	var ping float64
	if p := rep.Result(ScenarioPing); p != nil && !p.Failed() {
		ping = p.Metrics[MetricReqPerSec]
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		g, ok := goals[r.Scenario]
		if ok {
			r.Target = g.text
			r.Pass = !r.Failed() && g.met(r.Metrics)
		}
		if ratioScenarios[r.Scenario] && ping > 0 {
			r.RatioToPing = r.Metrics[MetricReqPerSec] / ping
		}
		if limitScenarios[r.Scenario] && limit > 0 && !r.Failed() {
			// select's req/s is an extra: its metrics are latencies.
			rps, ok := r.Metrics[MetricReqPerSec]
			if !ok {
				rps = r.Extra[MetricReqPerSec]
			}
			r.VsLimit = rps / limit
		}
	}
}
