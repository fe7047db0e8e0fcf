package bench

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTolerance(t *testing.T) {
	f := func(in string, want float64, wantErr bool) {
		t.Helper()
		got, err := ParseTolerance(in)
		if (err != nil) != wantErr || !near(got, want, 1e-12) {
			t.Fatalf("ParseTolerance(%q): got %v, %v; want %v, error %v", in, got, err, want, wantErr)
		}
	}
	f("10%", 0.10, false)
	f(" 5 % ", 0.05, false)
	f("0.1", 0.1, false)
	f("0", 0, false)
	f("150%", 1.5, false)
	f("", 0, true)
	f("ten", 0, true)
	f("-1%", 0, true)
	f("NaN", 0, true)
}

// twoScenarios is a report with a throughput and a latency scenario.
func twoScenarios(reqPerSec, p50, p99 float64) *Report {
	return &Report{Results: []Result{
		{Scenario: ScenarioPeak, Metrics: map[string]float64{MetricReqPerSec: reqPerSec}},
		{Scenario: ScenarioSelect, Metrics: map[string]float64{MetricP50: p50, MetricP99: p99}},
	}}
}

func TestCompare(t *testing.T) {
	f := func(name string, base, cur *Report, tol float64, want ...string) {
		t.Helper()
		regs := Compare(base, cur, tol)
		var got []string
		for _, g := range regs {
			got = append(got, g.Scenario+" "+g.Metric)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: got regressions %q; want %q", name, got, want)
		}
	}
	base := twoScenarios(10_000, 1, 4)
	f("same", base, twoScenarios(10_000, 1, 4), 0.10)
	f("within tolerance", base, twoScenarios(9_001, 1.09, 4.39), 0.10)
	f("better", base, twoScenarios(20_000, 0.5, 2), 0.10)
	f("throughput down 11%", base, twoScenarios(8_900, 1, 4), 0.10, "peak req_per_s")
	f("latency up 11%", base, twoScenarios(10_000, 1.11, 4), 0.10, "select p50_ms")
	f("all worse", base, twoScenarios(5_000, 2, 8), 0.10, "peak req_per_s", "select p50_ms", "select p99_ms")
	// A baseline edited to be 2x better: higher doubled, latencies halved.
	f("2x better baseline", twoScenarios(20_000, 0.5, 2), base, 0.10, "peak req_per_s", "select p50_ms", "select p99_ms")
	f("zero tolerance", base, twoScenarios(9_999, 1, 4), 0, "peak req_per_s")
	f("scenario not in baseline", &Report{}, base, 0.10)
	f("scenario not run now", base, &Report{}, 0.10)
	f("zero baseline skipped", twoScenarios(0, 0, 0), base, 0.10)
	missing := &Report{Results: []Result{{Scenario: ScenarioSelect, Metrics: map[string]float64{MetricP50: 1}}}}
	f("metric not in baseline", missing, twoScenarios(1, 100, 100), 0.10, "select p50_ms")
	// Below the noise floor a relative change does not count.
	f("latency +100% but +0.08 ms", twoScenarios(1, 0.08, 0.08), twoScenarios(1, 0.16, 0.16), 0.10)
	f("latency +0.12 ms", twoScenarios(1, 0.04, 0.04), twoScenarios(1, 0.16, 0.04), 0.10, "select p50_ms")
	share := func(eff, hit float64) *Report {
		return &Report{Results: []Result{
			{Scenario: ScenarioPool, Metrics: map[string]float64{MetricEfficiency: eff}},
			{Scenario: ScenarioCached, Metrics: map[string]float64{MetricHitRate: hit}},
		}}
	}
	f("efficiency 0.36% -> 0.10%", share(0.0036, 0.999), share(0.0010, 0.999), 0.10)
	f("hit rate 99.9% -> 98.95%", share(0.5, 0.999), share(0.5, 0.9895), 0.001)
	f("shares 2x better", share(0.9, 0.999), share(0.45, 0.4995), 0.10, "pool efficiency", "cached hit_rate")
	// Memory is better lower.
	rss := func(mb float64) *Report {
		return &Report{Results: []Result{{Scenario: ScenarioMemory, Metrics: map[string]float64{MetricPeakRSS: mb}}}}
	}
	f("peak RSS down by half", rss(80), rss(40), 0.10)
	f("peak RSS up 20%", rss(40), rss(48), 0.10, "memory peak_rss_mb")
}

func TestRegressionError(t *testing.T) {
	regs := Compare(twoScenarios(20_000, 0.5, 2), twoScenarios(10_000, 1, 4), 0.10)
	err := error(&RegressionError{Baseline: "b.json", Tolerance: 0.10, Regressions: regs})
	want := "bench: 3 metrics worse than baseline b.json by more than 10%: peak req_per_s 10,000 (baseline 20,000, -50.0%); " +
		"select p50_ms 1 (baseline 0.5, +100.0%); select p99_ms 4 (baseline 2, +100.0%)"
	if err.Error() != want {
		t.Fatalf("got %q; want %q", err.Error(), want)
	}
	var re *RegressionError
	if !errors.As(errors.Join(errors.New("other"), err), &re) || len(re.Regressions) != 3 {
		t.Fatalf("got %v; want a *RegressionError with 3 regressions through errors.Join", re)
	}
}

func TestScenarioError(t *testing.T) {
	err := &ScenarioError{Failed: []Result{
		{Scenario: ScenarioPeak, Requests: 1000, Errors: 20},
		{Scenario: ScenarioPool, Failure: "cannot read stats"},
	}}
	want := "bench: scenarios failed: peak: 2.00% of responses failed (more than 0.10%); pool: cannot read stats"
	if err.Error() != want {
		t.Fatalf("got %q; want %q", err.Error(), want)
	}
}
