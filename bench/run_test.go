package bench

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// lockedBuffer is a bytes.Buffer safe for the progress goroutine and the
// test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// onlyScenarioErrors fails the test unless err is nil or made only of
// *ScenarioError: too many failed responses is a verdict on the server
// (which a loaded 2-core machine under the race detector may earn), any
// other error is the harness failing.
func onlyScenarioErrors(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var se *ScenarioError
		if !errors.As(e, &se) {
			t.Fatalf("Run: got error %v; want none but failed scenarios", e)
		}
	}
	t.Logf("the server failed some scenarios (allowed here): %v", err)
}

// TestRunStandalone is the smoke test of the whole harness: PostgreSQL and
// pgfast started in process, every scenario for about a second, the report
// printed and written, profiles and flame graphs pulled.
func TestRunStandalone(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		// fasthttp's own: the worker pool's cleaner and the upstream
		// client's idle-connection cleaner (proxy) notice there is nothing
		// left only after their 10s sleep; the Date header updater, the
		// stackless workers (compression) and the dialer's DNS cache cleaner
		// live as long as the process.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp/stackless.funcWorker"),
		// sqlexec's runners end 2 s after their last run.
		goleak.IgnoreAnyFunction("github.com/pgfast/pgfast/sqlexec.(*runner).loop"))
	dir := t.TempDir()
	var out, progress lockedBuffer
	opts := Options{
		Standalone:   true,
		Customers:    3000,
		Duration:     time.Second,
		Connections:  64,
		Rate:         200,
		BatchRate:    10,
		CachedKeys:   300,
		Profile:      true,
		ProfileDir:   filepath.Join(dir, "profiles"),
		JSONPath:     filepath.Join(dir, "bench.json"),
		MarkdownPath: filepath.Join(dir, "bench.md"),
		Out:          &out,
		Progress:     &progress,
		Version:      "test",
	}
	rep, err := Run(context.Background(), opts)
	onlyScenarioErrors(t, err)

	var names []string
	for i := range rep.Results {
		names = append(names, rep.Results[i].Scenario)
		checkRow(t, &rep.Results[i])
	}
	if !slices.Equal(names, Scenarios) {
		t.Fatalf("got rows %v; want %v", names, Scenarios)
	}
	m := rep.Machine
	if m.Cores != runtime.NumCPU() || m.CPU == "" || !strings.HasPrefix(m.PostgreSQL, "PostgreSQL 1") || m.Pgfast != "test" {
		t.Fatalf("got machine %+v; want this machine and the server's PostgreSQL version", m)
	}
	text := out.String()
	for _, s := range Scenarios {
		if !strings.Contains(text, "\n"+s+" ") {
			t.Fatalf("got output\n%s\nwant a row for %s", text, s)
		}
	}
	checkLimit(t, rep, text)
	if p := progress.String(); !strings.Contains(p, "bench: peak   done") || !strings.Contains(p, "warming the cache") {
		t.Fatalf("got progress\n%s\nwant a line per scenario", p)
	}

	back, err := ReadReport(opts.JSONPath)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rep) {
		t.Fatalf("JSON file: got %+v; want %+v", back, rep)
	}
	md, err := os.ReadFile(opts.MarkdownPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != string(rep.AppendMarkdown(nil)) || !strings.Contains(string(md), "| peak | ≥ 15,000 req/s |") {
		t.Fatalf("markdown file: got\n%s", md)
	}

	for _, s := range []string{ScenarioPing, ScenarioSelect, ScenarioPeak, ScenarioCached, ScenarioProxy, ScenarioRows, ScenarioBatch} {
		checkProfiles(t, opts.ProfileDir, s)
	}
}

// TestRunTargetBaseline runs against a pgfast the test started, as
// --target would against any server, and checks the baseline verdicts: a
// baseline twice as good as the server names the metrics that fall short, a
// baseline of the same server passes.
func TestRunTargetBaseline(t *testing.T) {
	sa, err := startStandalone(context.Background(), 2000, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sa.close(); err != nil {
			t.Error(err)
		}
	})
	dir := t.TempDir()
	first := filepath.Join(dir, "first.json")
	opts := Options{
		Target:     sa.url + "/",
		Admin:      sa.admin,
		Token:      standaloneToken,
		SelectPath: standaloneSelectPath,
		IDs:        2000,
		CachedKeys: 200,
		// The upstream the standalone route forwards to, as an operator
		// would name theirs.
		ProxyUpstream: sa.upstream.url,
		Scenarios:     []string{ScenarioPing, ScenarioCached, ScenarioProxy, ScenarioPool, ScenarioBatch},
		Duration:      700 * time.Millisecond,
		Connections:   32,
		BatchRate:     10,
		JSONPath:      first,
	}
	rep, err := Run(context.Background(), opts)
	onlyScenarioErrors(t, err)
	if rep.Target != sa.url || len(rep.Results) != 5 {
		t.Fatalf("got target %q and %d rows; want %q and 5", rep.Target, len(rep.Results), sa.url)
	}
	for i := range rep.Results {
		checkRow(t, &rep.Results[i])
	}

	// Twice as good: throughputs doubled, latencies halved.
	better, err := ReadReport(first)
	if err != nil {
		t.Fatal(err)
	}
	for i := range better.Results {
		for k, v := range better.Results[i].Metrics {
			if HigherIsBetter(k) {
				better.Results[i].Metrics[k] = v * 2
			} else {
				better.Results[i].Metrics[k] = v / 2
			}
		}
	}
	b, err := better.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	betterPath := filepath.Join(dir, "better.json")
	if err := os.WriteFile(betterPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	opts.JSONPath, opts.Baseline, opts.Out = "", betterPath, &out
	_, err = Run(context.Background(), opts)
	var re *RegressionError
	if !errors.As(err, &re) {
		t.Fatalf("against a 2x better baseline: got %v; want a *RegressionError", err)
	}
	// A hit rate cannot double past 1: it always regresses. Every metric
	// named in the error is listed in the output too.
	if !strings.Contains(err.Error(), "cached hit_rate") {
		t.Fatalf("got error %v; want it to name cached hit_rate", err)
	}
	for _, g := range re.Regressions {
		if !strings.Contains(out.String(), "  "+g.String()+"\n") {
			t.Fatalf("got output\n%s\nwant it to list %s", out.String(), g)
		}
	}

	// The same server against its own first run, with room for a loaded
	// machine's noise, passes.
	out = lockedBuffer{}
	opts.Baseline, opts.Tolerance = first, 9
	_, err = Run(context.Background(), opts)
	if errors.As(err, &re) {
		t.Fatalf("against its own baseline: got %v; want no regression", err)
	}
	onlyScenarioErrors(t, err)
	if !strings.Contains(out.String(), "no metric worse by more than 900%") {
		t.Fatalf("got output\n%s\nwant the baseline verdict", out.String())
	}
}

// TestRunStandaloneProxy runs proxy alone in standalone mode: bench's own
// upstream behind the standalone route, then hit directly.
func TestRunStandaloneProxy(t *testing.T) {
	var out lockedBuffer
	rep, err := Run(context.Background(), Options{
		Standalone:  true,
		Customers:   100,
		Scenarios:   []string{ScenarioProxy},
		Duration:    500 * time.Millisecond,
		Connections: 32,
		Out:         &out,
	})
	onlyScenarioErrors(t, err)
	if len(rep.Results) != 1 || rep.Results[0].Scenario != ScenarioProxy {
		t.Fatalf("got rows %+v; want proxy alone", rep.Results)
	}
	r := &rep.Results[0]
	checkRow(t, r)
	if r.Target != "" || r.Skipped != "" || r.RatioToPing != 0 {
		t.Fatalf("got target %q, skipped %q, ratio to ping %v; want none (no README target, no ping run)", r.Target, r.Skipped, r.RatioToPing)
	}
	if text := out.String(); !strings.Contains(text, "\nproxy ") || !strings.Contains(text, "× direct ") {
		t.Fatalf("got output\n%s\nwant a proxy row with its ratio to direct", text)
	}
}

// TestRunTargetProxySkipped runs proxy against a target without
// ProxyUpstream: the row is skipped, with the reason, and is no failure.
func TestRunTargetProxySkipped(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	var out lockedBuffer
	rep, err := Run(context.Background(), Options{Target: srv.URL, Admin: srv.URL, Scenarios: []string{ScenarioProxy}, Duration: time.Minute, Out: &out})
	if err != nil {
		t.Fatalf("got error %v; want a skipped row to be no failure", err)
	}
	if len(rep.Results) != 1 {
		t.Fatalf("got rows %+v; want proxy alone", rep.Results)
	}
	r := &rep.Results[0]
	if r.Scenario != ScenarioProxy || !strings.Contains(r.Skipped, "--proxy-upstream") || r.Failed() || r.Status() != "skipped" || r.Requests != 0 {
		t.Fatalf("got %+v (status %s); want proxy skipped for want of --proxy-upstream, with no load", r, r.Status())
	}
	if n := hits.Load(); n > 10 {
		t.Fatalf("the target got %d requests; want only the reachability and version probes", n)
	}
	if text := out.String(); !strings.Contains(text, "proxy: skipped: no --proxy-upstream") {
		t.Fatalf("got output\n%s\nwant the reason under the table", text)
	}
}

// TestRunStandaloneLimitMemory runs the set, ping, select, peak and
// memory, in standalone mode: a memory row with a positive RSS, and the
// composed limit, with D measured on the standalone cluster, on select and
// peak.
func TestRunStandaloneLimitMemory(t *testing.T) {
	var out lockedBuffer
	rep, err := Run(context.Background(), Options{
		Standalone:  true,
		Customers:   1000,
		Scenarios:   []string{ScenarioPing, ScenarioSelect, ScenarioPeak, ScenarioMemory},
		Duration:    700 * time.Millisecond,
		Connections: 32,
		Rate:        100,
		Out:         &out,
	})
	onlyScenarioErrors(t, err)
	var names []string
	for i := range rep.Results {
		names = append(names, rep.Results[i].Scenario)
		checkRow(t, &rep.Results[i])
	}
	if want := []string{ScenarioSelect, ScenarioPeak, ScenarioMemory, ScenarioPing}; !slices.Equal(names, want) {
		t.Fatalf("got rows %v; want %v", names, want)
	}
	if m := rep.Result(ScenarioMemory); !strings.Contains(m.Note, "includes the load generator") {
		t.Fatalf("memory: got note %q; want standalone's caveat", m.Note)
	}
	if l := rep.Limit; l != nil && (l.Connections > 32 || l.Seconds != 1) {
		t.Fatalf("got limit %+v; want at most the 32 clients' connections for 1s (0.7s rounded up)", l)
	}
	checkLimit(t, rep, out.String())
	if text := out.String(); !strings.Contains(text, "peak RSS ") || !strings.Contains(text, "vs limit") {
		t.Fatalf("got output\n%s\nwant the memory row and the vs limit column", text)
	}
}

// TestRunTargetNoLimitNoMemory runs select and memory against a server that
// answers {} to everything: ping runs for H without a row, the limit is
// not measured for want of --database-url (a note, no failure), and the
// memory row fails, as /admin/stats reports no process memory.
func TestRunTargetNoLimitNoMemory(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer srv.Close()
	var out lockedBuffer
	rep, err := Run(context.Background(), Options{Target: srv.URL, Admin: srv.URL, Scenarios: []string{ScenarioMemory, ScenarioSelect},
		Duration: 300 * time.Millisecond, Connections: 8, Rate: 50, Out: &out})
	var se *ScenarioError
	if !errors.As(err, &se) || len(se.Failed) != 1 || se.Failed[0].Scenario != ScenarioMemory {
		t.Fatalf("got error %v; want memory alone failed", err)
	}
	if len(rep.Results) != 2 || rep.Results[0].Scenario != ScenarioSelect || rep.Results[1].Scenario != ScenarioMemory {
		t.Fatalf("got rows %+v; want select and memory, no ping", rep.Results)
	}
	if m := rep.Results[1]; !strings.Contains(m.Failure, "no process.rss_bytes") {
		t.Fatalf("memory: got failure %q; want no process memory", m.Failure)
	}
	if l := rep.Limit; l == nil || !(l.HTTPReqPerSec > 0) || l.DBReqPerSec != 0 || !strings.Contains(l.Failure, "no --database-url") {
		t.Fatalf("got limit %+v; want H measured and D not, for want of --database-url", l)
	}
	if r := rep.Results[0]; r.VsLimit != 0 || r.Failed() {
		t.Fatalf("select: got vs limit %v, failed %v; want none and not failed", r.VsLimit, r.Failed())
	}
	if text := out.String(); !strings.Contains(text, "vs limit: not measured: no --database-url") {
		t.Fatalf("got output\n%s\nwant the reason under the table", text)
	}
}

func TestRunUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	start := time.Now()
	rep, err := Run(context.Background(), Options{Target: "http://" + addr, Duration: time.Minute})
	if rep != nil || err == nil || !strings.Contains(err.Error(), "cannot reach the target") {
		t.Fatalf("got %v, %v; want no report and a cannot reach error", rep, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s; want a fast failure, not a minute per scenario", d)
	}
}
