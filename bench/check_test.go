package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// checkRow asserts that a measured row has the metrics its scenario
// promises, in a plausible range.
func checkRow(t *testing.T, r *Result) {
	t.Helper()
	if r.Failure != "" {
		t.Fatalf("%s: got failure %q; want it measured", r.Scenario, r.Failure)
	}
	positive := func(names ...string) {
		t.Helper()
		for _, n := range names {
			if v, ok := r.Metrics[n]; !ok || !(v > 0) {
				t.Fatalf("%s: got %s = %v (present %v); want > 0", r.Scenario, n, v, ok)
			}
		}
	}
	switch r.Scenario {
	case ScenarioSelect:
		positive(MetricP50, MetricP99)
	case ScenarioBatch:
		positive(MetricP50)
	case ScenarioPing:
		positive(MetricReqPerSec)
	case ScenarioPeak:
		positive(MetricReqPerSec)
		// The standalone twin route coalesces: peak reads its runs.
		n, ok := r.Extra[extraCoalesced]
		if runs := r.Extra[extraCoalescedRuns]; !ok || n < 0 || n > float64(r.Requests) || runs > n/2 || r.Extra[extraKeyedRuns] > runs {
			t.Fatalf("peak: got %v coalesced requests (present %v) in %v runs, %v keyed, of %d; want 0..requests, two or more per run",
				n, ok, runs, r.Extra[extraKeyedRuns], r.Requests)
		}
	case ScenarioCached:
		positive(MetricReqPerSec)
		if hr := r.Metrics[MetricHitRate]; hr < 0.9 || hr > 1 {
			t.Fatalf("cached: got hit rate %v; want >= 0.9 after the warm-up", hr)
		}
	case ScenarioProxy:
		positive(MetricReqPerSec)
		if d, ratio := r.Extra[extraDirectReqPerSec], r.Extra[extraVsDirect]; !(d > 0) || !near(ratio, r.Metrics[MetricReqPerSec]/d, 1e-9) {
			t.Fatalf("proxy: got %v req/s direct and a ratio of %v to %v req/s through pgfast; want a positive direct rate and their ratio",
				d, ratio, r.Metrics[MetricReqPerSec])
		}
	case ScenarioRows:
		positive(MetricRowsPerSec)
		if n := r.Extra[extraRowsPerReq]; n != 1000 {
			t.Fatalf("rows: got %v rows per response; want 1000", n)
		}
	case ScenarioPool:
		if e, ok := r.Metrics[MetricEfficiency]; !ok || e < 0 || e > 1 || r.Extra[extraAcquires] <= 0 {
			t.Fatalf("pool: got efficiency %v (present %v) over %v acquires; want 0..1 over some", e, ok, r.Extra[extraAcquires])
		}
		return
	case ScenarioMemory:
		positive(MetricPeakRSS)
		// The high-water mark covers the whole life of the process, so it
		// is about at least any RSS seen during peak: Linux updates VmHWM
		// lazily (per-CPU RSS counters are folded in later), so a sample
		// may pass it by a little. A few MB of a 100 MB process are a
		// plausible range, a TB is not.
		if peak, hw := r.Metrics[MetricPeakRSS], r.Extra[extraMaxRSS]; hw < peak*0.95 || peak < 1 || peak > 1e6 || r.Extra[extraRSSSamples] < 1 {
			t.Fatalf("memory: got peak RSS %v MB, high-water %v MB over %v samples; want 1 MB <= peak <= about high-water", peak, hw, r.Extra[extraRSSSamples])
		}
		return
	}
	if r.Requests == 0 || r.Seconds <= 0 {
		t.Fatalf("%s: got %d requests in %vs; want some", r.Scenario, r.Requests, r.Seconds)
	}
}

// checkLimit asserts that rep measured the composed limit from its ping
// row and a positive D, and divided select and peak by it, and that text
// shows it.
func checkLimit(t *testing.T, rep *Report, text string) {
	t.Helper()
	l := rep.Limit
	if l == nil || l.Failure != "" {
		t.Fatalf("got limit %+v; want one measured", l)
	}
	h := rep.Result(ScenarioPing).Metrics[MetricReqPerSec]
	if l.HTTPReqPerSec != h || !(l.DBReqPerSec > 0) || !near(l.ReqPerSec, composedLimit(h, l.DBReqPerSec), 1e-9) ||
		l.Connections < 1 || !strings.Contains(l.Statement, "$1") {
		t.Fatalf("got limit %+v; want H = ping's %v req/s, D > 0 and L = 1/(1/H + 1/D)", l, h)
	}
	for _, s := range []string{ScenarioSelect, ScenarioPeak} {
		r := rep.Result(s)
		if !(r.VsLimit > 0) {
			t.Fatalf("%s: got vs limit %v; want > 0", s, r.VsLimit)
		}
		if cell := r.row(l.ReqPerSec)[4]; !strings.HasSuffix(cell, "× of "+formatCount(l.ReqPerSec)) {
			t.Fatalf("%s: got vs limit cell %q; want a ratio of %s", s, cell, formatCount(l.ReqPerSec))
		}
	}
	if !strings.Contains(text, "vs limit: measured / "+formatCount(l.ReqPerSec)+" req/s") {
		t.Fatalf("got output\n%s\nwant the limit's note", text)
	}
}

// checkProfiles asserts that scenario left a CPU profile with samples, a
// heap profile, and a flame graph drawn from the CPU profile.
func checkProfiles(t *testing.T, dir, scenario string) {
	t.Helper()
	read := func(name string) *profile.Profile {
		t.Helper()
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		p, err := profile.Parse(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return p
	}
	cpu := read(scenario + "-cpu.pprof")
	if heap := read(scenario + "-heap.pprof"); len(heap.SampleType) == 0 || heap.SampleType[0].Type != "alloc_objects" {
		t.Fatalf("%s-heap.pprof: got sample types %v; want a heap profile", scenario, heap.SampleType)
	}
	root, err := Fold(cpu)
	if err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, scenario+"-cpu.svg"))
	if err != nil {
		t.Fatal(err)
	}
	rects, _ := svgShape(t, svg)
	if root.Value <= 0 || rects < 3 {
		t.Fatalf("%s: got %v of CPU samples and %d frames in the flame graph; want a real profile", scenario, time.Duration(root.Value), rects)
	}
}
