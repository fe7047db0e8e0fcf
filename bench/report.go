package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Scenario names. Scenarios lists them in the order of the report's table
// (DESIGN §8).
const (
	ScenarioSelect = "select"
	ScenarioPeak   = "peak"
	ScenarioCached = "cached"
	ScenarioProxy  = "proxy"
	ScenarioRows   = "rows"
	ScenarioBatch  = "batch"
	ScenarioPool   = "pool"
	ScenarioMemory = "memory"
	ScenarioPing   = "ping"
)

// Scenarios are all scenario names, in table order.
var Scenarios = []string{ScenarioSelect, ScenarioPeak, ScenarioCached, ScenarioProxy, ScenarioRows, ScenarioBatch, ScenarioPool,
	ScenarioMemory, ScenarioPing}

// Metric names: the keys of Result.Metrics, which a baseline compares.
const (
	// MetricP50 and MetricP99 are latency percentiles in milliseconds.
	MetricP50 = "p50_ms"
	MetricP99 = "p99_ms"
	// MetricReqPerSec is successful responses per second.
	MetricReqPerSec = "req_per_s"
	// MetricRowsPerSec is rows received per second.
	MetricRowsPerSec = "rows_per_s"
	// MetricHitRate is the cache's hits / (hits + misses), 0 to 1.
	MetricHitRate = "hit_rate"
	// MetricEfficiency is 1 - empty acquires / acquires of the main pool.
	MetricEfficiency = "efficiency"
	// MetricPeakRSS is the target's largest resident set size seen during
	// peak, in MB (10^6 bytes).
	MetricPeakRSS = "peak_rss_mb"
)

// HigherIsBetter reports the direction of a metric: latencies and memory
// are better lower, everything else higher.
func HigherIsBetter(metric string) bool {
	return metric != MetricP50 && metric != MetricP99 && metric != MetricPeakRSS
}

// MaxErrorRate is the share of failed responses (non-2xx, transport errors,
// failed batch entries) above which a scenario fails, whatever its speed.
const MaxErrorRate = 0.001

// Report is one run of the scenarios: what ran where, and the results. Its
// JSON is what --json writes and --baseline reads.
type Report struct {
	// Machine is what the numbers were measured on.
	Machine Machine `json:"machine"`
	// Target is the URL measured, or "standalone".
	Target string `json:"target"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// Seconds is each scenario's duration.
	Seconds float64 `json:"seconds"`
	// Connections, Rate, BatchRate and BatchSize are the load settings.
	Connections int `json:"connections"`
	Rate        int `json:"rate"`
	BatchRate   int `json:"batch_rate"`
	BatchSize   int `json:"batch_size"`
	// Repeat is how many times each scenario ran (Options.Repeat): each
	// metric is then the median of the runs.
	Repeat int `json:"repeat,omitempty"`
	// Plot is the latency plot written with the report (Options.PlotPath),
	// as the markdown report links it; "" when none.
	Plot string `json:"plot,omitempty"`
	// Results are the scenarios that ran, in table order.
	Results []Result `json:"results"`
	// Limit is the composed limit the select and peak rows are divided by
	// (their VsLimit), with H and D; nil when neither row ran.
	Limit *Limit `json:"limit,omitempty"`
}

// Machine names the hardware and software a report was measured on, so its
// numbers are read honestly (the README's targets come from 8 cores).
type Machine struct {
	// Cores is runtime.NumCPU.
	Cores int `json:"cores"`
	// CPU is the CPU model from /proc/cpuinfo.
	CPU string `json:"cpu"`
	// Go is the Go version and platform of the bench binary.
	Go string `json:"go"`
	// PostgreSQL is the server's version() (shortened).
	PostgreSQL string `json:"postgresql"`
	// Pgfast is the pgfast version, when known.
	Pgfast string `json:"pgfast,omitempty"`
}

// Result is one scenario's row.
type Result struct {
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Target is the README's target, as text; "" when there is none (ping).
	Target string `json:"target,omitempty"`
	// Metrics are the measured values that a baseline compares: with
	// Report.Repeat > 1, the median of the runs.
	Metrics map[string]float64 `json:"metrics"`
	// Samples are each run's value of every metric, with Report.Repeat > 1:
	// their spread is the metric's noise when compared with a baseline.
	Samples map[string][]float64 `json:"samples,omitempty"`
	// Extra are measured values shown but never compared (req/s of rows,
	// acquire counts of pool, …).
	Extra map[string]float64 `json:"extra,omitempty"`
	// Requests is how many responses (or transport errors) came back;
	// Errors how many of them failed.
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// ErrorSamples are the first distinct failure texts.
	ErrorSamples []string `json:"error_samples,omitempty"`
	// Seconds is the measured time, first request sent to last response.
	Seconds float64 `json:"seconds"`
	// RatioToPing is req/s divided by ping's req/s, where it applies; 0
	// otherwise.
	RatioToPing float64 `json:"ratio_to_ping,omitempty"`
	// VsLimit is req/s divided by Report.Limit's composed limit, for select
	// and peak when the limit was measured; 0 otherwise. For select, whose
	// rate is fixed, it is the share of the limit that rate uses.
	VsLimit float64 `json:"vs_limit,omitempty"`
	// Pass reports whether Metrics meet Target.
	Pass bool `json:"pass"`
	// Failure, when set, says why the scenario could not be measured.
	Failure string `json:"failure,omitempty"`
	// Skipped, when set, says why the scenario did not run although asked
	// for (proxy against a target without Options.ProxyUpstream). A skipped
	// row is not a failure.
	Skipped string `json:"skipped,omitempty"`
	// Note is a remark for the reader (a select route that looks cached).
	Note string `json:"note,omitempty"`
	// Settle is the client's state when the scenario's attack started
	// (with repeats, the worst start); nil for rows without an attack of
	// their own.
	Settle *Settle `json:"settle,omitempty"`
}

// ErrorRate is Errors / Requests, 0 without requests.
func (r *Result) ErrorRate() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Errors) / float64(r.Requests)
}

// Failed reports whether the scenario failed: it could not be measured, or
// more than MaxErrorRate of its responses failed. Missing the README target
// is not a failure (see Pass).
func (r *Result) Failed() bool { return r.Failure != "" || r.ErrorRate() > MaxErrorRate }

// Status is the table's last column: ERROR for a failed scenario, skipped
// for one that did not run, pass or fail against the target, "—" when there
// is no target.
func (r *Result) Status() string {
	switch {
	case r.Failed():
		return "ERROR"
	case r.Skipped != "":
		return "skipped"
	case r.Target == "":
		return "—"
	case r.Pass:
		return "pass"
	}
	return "fail"
}

// Result returns the named scenario's result, or nil.
func (rep *Report) Result(scenario string) *Result {
	for i := range rep.Results {
		if rep.Results[i].Scenario == scenario {
			return &rep.Results[i]
		}
	}
	return nil
}

// ReadReport reads a report written by --json (a baseline).
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read report %s: %w", path, err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("cannot parse report %s: %w", path, err)
	}
	return &rep, nil
}

// MarshalIndent returns the report as indented JSON.
func (rep *Report) MarshalIndent() ([]byte, error) {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cannot encode report: %w", err)
	}
	return append(b, '\n'), nil
}
