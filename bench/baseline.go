package bench

import (
	"fmt"
	"maps"
	"math"
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
	// Noise is the change below which it would not have counted (see
	// Comparison.Noise).
	Noise float64
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
// counts, whatever the runs' spread: below it a relative change is
// measurement noise, however large (an efficiency of 0.3% against 0.1% is
// -67% but says nothing; back-to-back idle runs on a shared 2-vCPU machine
// moved the select p50 by up to 0.16 ms around 0.5 ms, so a change under
// 0.1 ms is not evidence).
func noiseFloor(metric string) float64 {
	switch metric {
	case MetricP50, MetricP99:
		return 0.1
	case MetricHitRate, MetricEfficiency:
		return 0.01
	}
	return 0
}

// noiseSpreads is how many spreads a change must exceed to count. The
// spread (max - min) of three runs covers their middle half on average and
// is itself noisy, so one spread would let about one comparison in forty
// fail by chance; two bring that under one in three hundred (simulated,
// normal and log-normal noise alike), and ten identical reruns of all
// scenarios on the shared 2-core machine passed (README).
const noiseSpreads = 2

// Comparison is one metric of a report against its baseline.
type Comparison struct {
	Scenario string
	Metric   string
	Baseline float64
	Current  float64
	// Noise is the absolute change below which a difference is not
	// counted: noiseSpreads times the larger spread of the metric's runs
	// (Result.Samples) in either report, at least its fixed floor.
	Noise float64
	// FromSpread reports whether Noise came from the runs' spread rather
	// than from the metric's fixed floor.
	FromSpread bool
	// Regressed reports whether Current is worse than Baseline by more
	// than both the tolerance and Noise.
	Regressed bool
}

// Change is the relative change from Baseline to Current: -0.5 is half.
func (c *Comparison) Change() float64 { return (c.Current - c.Baseline) / c.Baseline }

// appendLine appends the comparison as one aligned line of the baseline
// section: the values, the change, the noise beside it and the verdict.
func (c *Comparison) appendLine(dst []byte) []byte {
	from := "fixed floor"
	if c.FromSpread {
		from = "runs' spread"
	}
	verdict := "ok"
	switch {
	case c.Regressed:
		verdict = "REGRESSION"
	case c.Worse() && math.Abs(c.Current-c.Baseline) <= c.Noise:
		verdict = "ok (within noise)"
	}
	return fmt.Appendf(dst, "  %-8s %-12s %10s -> %-10s %+7.1f%%   noise ±%s (%s)   %s\n", c.Scenario, c.Metric,
		formatMetric(c.Baseline), formatMetric(c.Current), c.Change()*100, formatMetric(c.Noise), from, verdict)
}

// Worse reports whether Current is worse than Baseline at all, in the
// metric's direction.
func (c *Comparison) Worse() bool {
	if HigherIsBetter(c.Metric) {
		return c.Current < c.Baseline
	}
	return c.Current > c.Baseline
}

// CompareAll compares every metric of cur with the same metric of base: a
// metric regressed when it is worse by more than tol (0.1 = 10%) and by
// more than its noise (see Comparison.Noise): lower for a metric where
// higher is better, higher for a latency or memory. Scenarios or metrics
// missing on either side, and zero baselines, are skipped. The order is
// cur's, metrics sorted by name.
func CompareAll(base, cur *Report, tol float64) []Comparison {
	var out []Comparison
	for i := range cur.Results {
		c := &cur.Results[i]
		b := base.Result(c.Scenario)
		if b == nil {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(c.Metrics)) {
			bv, ok := b.Metrics[name]
			if !ok || bv <= 0 {
				continue
			}
			cmp := Comparison{Scenario: c.Scenario, Metric: name, Baseline: bv, Current: c.Metrics[name], Noise: noiseFloor(name)}
			if n := noiseSpreads * max(spread(c.Samples[name]), spread(b.Samples[name])); n > cmp.Noise {
				cmp.Noise, cmp.FromSpread = n, true
			}
			diff := cmp.Current - bv
			if HigherIsBetter(name) {
				diff = -diff
			}
			cmp.Regressed = diff > tol*bv && diff > cmp.Noise
			out = append(out, cmp)
		}
	}
	return out
}

// Compare returns the metrics of CompareAll that regressed.
func Compare(base, cur *Report, tol float64) []Regression {
	return regressions(CompareAll(base, cur, tol))
}

func regressions(cmps []Comparison) []Regression {
	var out []Regression
	for _, c := range cmps {
		if c.Regressed {
			out = append(out, Regression{Scenario: c.Scenario, Metric: c.Metric, Baseline: c.Baseline, Current: c.Current, Noise: c.Noise})
		}
	}
	return out
}

// appendComparisons appends the baseline section of the output: every
// comparison with its noise, then the verdict, naming each regression.
func appendComparisons(dst []byte, path string, tol float64, repeat int, cmps []Comparison) []byte {
	pct := strconv.FormatFloat(tol*100, 'f', -1, 64) + "%"
	runs := "one run"
	if repeat > 1 {
		runs = "medians of " + strconv.Itoa(repeat) + " runs"
	}
	dst = fmt.Appendf(dst, "\nbaseline %s (%s; a metric regresses when worse by more than %s and by more than its noise, "+
		"%d× the larger spread of its runs here or in the baseline, at least its fixed floor):\n", path, runs, pct, noiseSpreads)
	for i := range cmps {
		dst = cmps[i].appendLine(dst)
	}
	regs := regressions(cmps)
	if len(regs) == 0 {
		return fmt.Appendf(dst, "baseline %s: no metric worse by more than %s\n", path, pct)
	}
	dst = fmt.Appendf(dst, "baseline %s: %d metrics worse by more than %s:\n", path, len(regs), pct)
	for _, g := range regs {
		dst = fmt.Appendf(dst, "  %s\n", g)
	}
	return dst
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
