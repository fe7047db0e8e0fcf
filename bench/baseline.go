package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Regression is one metric that got worse than its baseline by more than
// the tolerance.
type Regression struct {
	Scenario string
	Metric   string
	Baseline float64
	Current  float64
}

// Change is the relative change from Baseline to Current: -0.5 is half.
func (g Regression) Change() float64 { return (g.Current - g.Baseline) / g.Baseline }

// String names the metric and both values: "peak req_per_s 7,512 (baseline
// 15,024, -50.0%)".
func (g Regression) String() string {
	return fmt.Sprintf("%s %s %s (baseline %s, %+.1f%%)", g.Scenario, g.Metric, formatMetric(g.Current),
		formatMetric(g.Baseline), g.Change()*100)
}

func formatMetric(v float64) string {
	if v >= 1000 {
		return formatCount(v)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// noiseFloor is the smallest absolute change of a metric that Compare
// counts: below it a relative change is measurement noise, however large
// (an efficiency of 0.3% against 0.1% is -67% but says nothing; back-to-back
// idle runs on a shared 2-vCPU machine moved the select p50 by up to
// 0.16 ms around 0.5 ms, so a change under 0.1 ms is not evidence).
func noiseFloor(metric string) float64 {
	switch metric {
	case MetricP50, MetricP99:
		return 0.1
	case MetricHitRate, MetricEfficiency:
		return 0.01
	}
	return 0
}

// Compare returns every metric of cur that is worse than the same metric of
// base by more than tol (0.1 = 10%) and by more than the metric's noise
// floor (0.1 ms for latencies, 1 point for hit rate and efficiency): lower
// for a metric where higher is better, higher for a latency. Scenarios or
// metrics missing on either side, and zero baselines, are skipped. The order
// is cur's.
func Compare(base, cur *Report, tol float64) []Regression {
	var out []Regression
	for i := range cur.Results {
		c := &cur.Results[i]
		b := base.Result(c.Scenario)
		if b == nil {
			continue
		}
		names := make([]string, 0, len(c.Metrics))
		for name := range c.Metrics {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			bv, ok := b.Metrics[name]
			if !ok || bv <= 0 {
				continue
			}
			cv := c.Metrics[name]
			worse := cv < bv*(1-tol) && bv-cv > noiseFloor(name)
			if !HigherIsBetter(name) {
				worse = cv > bv*(1+tol) && cv-bv > noiseFloor(name)
			}
			if worse {
				out = append(out, Regression{Scenario: c.Scenario, Metric: name, Baseline: bv, Current: cv})
			}
		}
	}
	return out
}

// RegressionError is Run's error when metrics regressed against the
// baseline.
type RegressionError struct {
	Baseline    string
	Tolerance   float64
	Regressions []Regression
}

func (e *RegressionError) Error() string {
	parts := make([]string, len(e.Regressions))
	for i, g := range e.Regressions {
		parts[i] = g.String()
	}
	return fmt.Sprintf("bench: %d metrics worse than baseline %s by more than %s: %s", len(e.Regressions), e.Baseline,
		strconv.FormatFloat(e.Tolerance*100, 'f', -1, 64)+"%", strings.Join(parts, "; "))
}

// ScenarioError is Run's error when scenarios failed: too many failed
// responses, or a value that could not be measured.
type ScenarioError struct {
	// Failed are the failed scenarios' results.
	Failed []Result
}

func (e *ScenarioError) Error() string {
	parts := make([]string, len(e.Failed))
	for i := range e.Failed {
		r := &e.Failed[i]
		if r.Failure != "" {
			parts[i] = r.Scenario + ": " + r.Failure
			continue
		}
		parts[i] = fmt.Sprintf("%s: %s of responses failed (more than %s)", r.Scenario, formatPercent(r.ErrorRate()), formatPercent(MaxErrorRate))
	}
	return "bench: scenarios failed: " + strings.Join(parts, "; ")
}
