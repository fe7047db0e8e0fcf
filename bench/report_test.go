package bench

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fixedReport is a report with every row, some passing, some not.
func fixedReport() *Report {
	rep := &Report{
		Machine:     Machine{Cores: 2, CPU: "AMD EPYC", Go: "go1.26.0 linux/amd64", PostgreSQL: "PostgreSQL 17.6", Pgfast: "v0.1.0"},
		Target:      "standalone",
		Started:     time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
		Seconds:     5,
		Connections: 1000,
		Rate:        500,
		BatchRate:   20,
		BatchSize:   100,
		Results: []Result{
			{Scenario: ScenarioSelect, Metrics: map[string]float64{MetricP50: 0.613, MetricP99: 3.2}, Extra: map[string]float64{MetricReqPerSec: 500},
				Requests: 2500, Seconds: 5},
			{Scenario: ScenarioPeak, Metrics: map[string]float64{MetricReqPerSec: 7512.4}, Requests: 37562, Seconds: 5,
				Extra: map[string]float64{extraCoalesced: 30000, extraCoalescedRuns: 3000, extraKeyedRuns: 2990}},
			{Scenario: ScenarioCached, Metrics: map[string]float64{MetricReqPerSec: 12000, MetricHitRate: 0.9962}, Requests: 60000, Errors: 30,
				ErrorSamples: []string{"status 503"}, Seconds: 5},
			{Scenario: ScenarioProxy, Metrics: map[string]float64{MetricReqPerSec: 21000},
				Extra: map[string]float64{extraDirectReqPerSec: 34000, extraVsDirect: 21000.0 / 34000}, Requests: 105000, Seconds: 5},
			{Scenario: ScenarioRows, Metrics: map[string]float64{MetricRowsPerSec: 200_000}, Extra: map[string]float64{MetricReqPerSec: 200}, Requests: 1000, Seconds: 5},
			{Scenario: ScenarioBatch, Metrics: map[string]float64{MetricP50: 12.34}, Requests: 100, Seconds: 5},
			{Scenario: ScenarioPool, Metrics: map[string]float64{MetricEfficiency: 0.999},
				Extra: map[string]float64{extraAcquires: 37562, extraEmptyAcquires: 38}, Seconds: 5},
			{Scenario: ScenarioMemory, Metrics: map[string]float64{MetricPeakRSS: 41.234}, Extra: map[string]float64{extraMaxRSS: 43.01}, Seconds: 5},
			{Scenario: ScenarioPing, Metrics: map[string]float64{MetricReqPerSec: 30000}, Requests: 150000, Seconds: 5, Note: "the ceiling"},
		},
		// L = 1/(1/30,000 + 1/12,000) = 8,571.4 req/s.
		Limit: &Limit{HTTPReqPerSec: 30000, DBReqPerSec: 12000, ReqPerSec: composedLimit(30000, 12000), Connections: 20, Seconds: 5,
			Statement: "SELECT 1 FROM customer WHERE customer_id = $1"},
	}
	judge(rep)
	return rep
}

func TestJudge(t *testing.T) {
	rep := fixedReport()
	limit := 1 / (1/30000.0 + 1/12000.0)
	f := func(scenario, status string, ratio, vsLimit float64) {
		t.Helper()
		r := rep.Result(scenario)
		if r.Status() != status || !near(r.RatioToPing, ratio, 1e-9) || !near(r.VsLimit, vsLimit, 1e-9) {
			t.Fatalf("%s: got status %q, ratio %v, vs limit %v; want %q, %v, %v", scenario, r.Status(), r.RatioToPing, r.VsLimit,
				status, ratio, vsLimit)
		}
	}
	f(ScenarioSelect, "pass", 0, 500/limit) // select's req/s is its fixed rate
	f(ScenarioPeak, "fail", 7512.4/30000, 7512.4/limit)
	f(ScenarioCached, "fail", 0.4, 0) // 0.05% errors: fine; 12,000 req/s misses the target
	f(ScenarioProxy, "—", 0.7, 0)     // no README target
	f(ScenarioRows, "fail", 0, 0)
	f(ScenarioBatch, "pass", 0, 0)
	f(ScenarioPool, "pass", 0, 0)
	f(ScenarioMemory, "—", 0, 0)
	f(ScenarioPing, "—", 0, 0)
	if rep.Result("nope") != nil {
		t.Fatal("got a result for an unknown scenario; want nil")
	}
}

func TestMarkdown(t *testing.T) {
	got := string(fixedReport().AppendMarkdown(nil))
	want := `pgfast v0.1.0 bench against standalone on 2 cores (AMD EPYC), go1.26.0 linux/amd64, PostgreSQL 17.6; 5s per scenario, 1,000 connections, select at 500 req/s, batches of 100 at 20/s.

| scenario | README target | measured | vs /ping | vs limit | errors | result |
|---|---|---|---|---|---|---|
| select | p50 ≤ 0.8 ms, p99 ≤ 5 ms | p50 0.61 ms, p99 3.20 ms | — | 0.06× of 8,571 | 0.00% | pass |
| peak | ≥ 15,000 req/s | 7,512 req/s (79.87% coalesced, 10.0 per run, 99.67% of runs keyed) | 0.25× | 0.88× of 8,571 | 0.00% | fail |
| cached | ≥ 29,000 req/s, hit rate > 99% | 12,000 req/s, hit rate 99.62% | 0.40× | — | 0.05% | fail |
| proxy | — | 21,000 req/s (0.62× direct 34,000 req/s) | 0.70× | — | 0.00% | — |
| rows | ≥ 800,000 rows/s | 200,000 rows/s (200 req/s) | — | — | 0.00% | fail |
| batch | p50 < 50 ms | p50 12.3 ms | — | — | 0.00% | pass |
| pool | ≥ 99% efficiency | 99.90% efficiency (38 of 37,562 acquires found the pool empty; 0 waited at the gate) | — | — | — | pass |
| memory | — | peak RSS 41.2 MB (high-water 43.0 MB) | — | — | — | — |
| ping | — | 30,000 req/s | — | — | 0.00% | — |

- cached: 30 of 60,000 responses failed, e.g. status 503
- ping: the ceiling
- vs limit: measured / 8,571 req/s, the composed limit 1/(1/H + 1/D) of H = 30,000 req/s (/ping) and D = 12,000 statements/s (the route's statement straight on PostgreSQL, pgbench with 20 connections for 5s)
`
	if got != want {
		t.Fatalf("got markdown\n%s\nwant\n%s", got, want)
	}
}

func TestMarkdownFailures(t *testing.T) {
	rep := &Report{Results: []Result{
		{Scenario: ScenarioPool, Failure: "cannot read /admin/stats"},
		{Scenario: "a|b", Metrics: map[string]float64{}},
		{Scenario: ScenarioProxy, Metrics: map[string]float64{}, Skipped: "no --proxy-upstream"},
		{Scenario: ScenarioPeak, Metrics: map[string]float64{MetricReqPerSec: 5000}, Requests: 5000},
		{Scenario: ScenarioPeak, Metrics: map[string]float64{MetricReqPerSec: 4000}, Requests: 4000,
			Extra: map[string]float64{extraCoalesced: 0, extraCoalescedRuns: 0}},
	}, Limit: &Limit{HTTPReqPerSec: 20000, Failure: "no --database-url: name the database"}}
	judge(rep)
	got := string(rep.AppendMarkdown(nil))
	for _, want := range []string{
		"| pool | ≥ 99% efficiency | not measured | — | — | — | ERROR |\n",
		`| a\|b | — | not measured | — | — | — | — |`,
		"\n- pool: cannot read /admin/stats\n",
		"| proxy | — | skipped | — | — | — | skipped |\n",
		"\n- proxy: skipped: no --proxy-upstream\n",
		// No limit: peak's vs limit cell is empty, and the note says why.
		"| peak | ≥ 15,000 req/s | 5,000 req/s | — | — | 0.00% | fail |\n",
		// A target whose routes coalesce, where no run formed.
		"| peak | ≥ 15,000 req/s | 4,000 req/s (none coalesced) | — | — | 0.00% | fail |\n",
		"\n- vs limit: not measured: no --database-url: name the database\n",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("got\n%s\nwant it to contain %q", got, want)
		}
	}
}

func TestText(t *testing.T) {
	got := string(fixedReport().AppendText(nil))
	for _, want := range []string{
		"on 2 cores (AMD EPYC), go1.26.0 linux/amd64, PostgreSQL 17.6;",
		"scenario  README target                   measured",
		"select    p50 ≤ 0.8 ms, p99 ≤ 5 ms        p50 0.61 ms, p99 3.20 ms",
		"cached: 30 of 60,000 responses failed, e.g. status 503",
		"memory    —                               peak RSS 41.2 MB (high-water 43.0 MB)",
		"0.88× of 8,571",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("got text\n%s\nwant it to contain %q", got, want)
		}
	}
	if n := strings.Count(got, "\n"); n != 16 {
		t.Fatalf("got %d lines; want 16 (header, blank, column names, 9 rows, blank, 3 notes)", n)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rep := fixedReport()
	b, err := rep.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rep) {
		t.Fatalf("got %+v; want %+v", back, rep)
	}
	if regs := Compare(rep, back, 0); len(regs) != 0 {
		t.Fatalf("a report compared with its own JSON: got regressions %v; want none", regs)
	}
	if _, err := ReadReport(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("ReadReport of a missing file: got no error")
	}
}

func TestFormat(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("got %q; want %q", got, want)
		}
	}
	f(formatCount(0), "0")
	f(formatCount(999.4), "999")
	f(formatCount(1000), "1,000")
	f(formatCount(15234.6), "15,235")
	f(formatCount(1234567), "1,234,567")
	f(formatCount(-1234), "-1,234")
	f(formatMillis(0.6134), "0.61 ms")
	f(formatMillis(12.34), "12.3 ms")
	f(formatMillis(250.4), "250 ms")
	f(formatPercent(0.99623), "99.62%")
	f(formatMB(41.25), "41.2 MB")
	f(formatMB(175.64), "175.6 MB")
	f(formatSeconds(5), "5s")
	f(formatSeconds(1.5), "1.5s")
}
