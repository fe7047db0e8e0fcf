package bench

import (
	"context"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgfast/pgfast/config"
)

// TestSettle runs a closed-loop attack of 200 connections and checks that
// its goroutines carry the load label while it runs, and that the next
// attack starts settled: none of them left, after a bounded wait.
func TestSettle(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer srv.Close()
	r := &runner{o: Options{Target: srv.URL, Timeout: 5 * time.Second}, target: srv.URL, http: srv.Client()}
	during := -1
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(150 * time.Millisecond)
		during, _ = loadGoroutines()
	}()
	out := r.attack(context.Background(), load{name: "burst", targeter: fixed(srv.URL), conns: 200, duration: 300 * time.Millisecond})
	<-done
	if out.ok == 0 || !out.settle.Settled {
		t.Fatalf("got %d ok responses, settle %+v; want some, from a settled start", out.ok, out.settle)
	}
	if during < 200 {
		t.Fatalf("got %d load goroutines during a 200-worker attack; want at least 200", during)
	}
	next := settle(context.Background(), r.prevTransport)
	if !next.Settled || next.LoadGoroutines != 0 || next.WaitSeconds > settleTimeout.Seconds()+1 {
		t.Fatalf("after the attack: got %+v; want settled, no load goroutine left, within %s", next, settleTimeout)
	}
}

// slowTwinPath serves the select route's statement 2 ms slower, for the
// gate's regression test: the same twin with pg_sleep(0.002) first.
const slowTwinPath = "/bench/slow/customers/{id}"

func addSlowTwin(cfg *config.Config) {
	for _, r := range cfg.Routes {
		if r.Name == standaloneRoute {
			r.Name, r.Path = "customer_slow", slowTwinPath
			r.SQL = "SELECT s.* FROM (" + r.SQL + ") s, pg_sleep(0.002)"
			cfg.Routes = append(cfg.Routes, r)
			return
		}
	}
	panic("BUG: no " + standaloneRoute + " route to twin")
}

// TestGate is the --baseline gate on the real server with short scenarios:
// identical reruns against a baseline pass (their false-alarm rate is
// logged and must stay at most one in three; the ten 2s runs of the README are measured from the command line), and a select route 2 ms slower
// fails naming select's p50.
func TestGate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the scenarios about 15 times")
	}
	sa, err := startStandalone(context.Background(), 2000, slog.New(slog.DiscardHandler), addSlowTwin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sa.close() })
	dir := t.TempDir()
	first := filepath.Join(dir, "first.json")
	opts := Options{
		Target: sa.url, Admin: sa.admin, Token: standaloneToken, SelectPath: standaloneSelectPath, IDs: 2000,
		Scenarios: []string{ScenarioSelect, ScenarioPeak, ScenarioPing},
		Duration:  300 * time.Millisecond, Connections: 32, Rate: 200, Repeat: 3, JSONPath: first,
	}
	if _, err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	opts.JSONPath, opts.Baseline, opts.Repeat = "", first, 0 // the default repeat with a baseline
	const reruns = 3
	alarms := 0
	for i := range reruns {
		var out lockedBuffer
		opts.Out = &out
		rep, err := Run(context.Background(), opts)
		if rep != nil && rep.Repeat != DefaultBaselineRepeat {
			t.Fatalf("got repeat %d with a baseline; want %d", rep.Repeat, DefaultBaselineRepeat)
		}
		var re *RegressionError
		if errors.As(err, &re) {
			alarms++
			t.Logf("rerun %d: false alarm: %v\n%s", i+1, err, out.String())
			continue
		}
		onlyScenarioErrors(t, err)
		if !strings.Contains(out.String(), "noise ±") || !strings.Contains(out.String(), "select   p99_ms") {
			t.Fatalf("got output\n%s\nwant every comparison with its noise", out.String())
		}
	}
	t.Logf("false alarms: %d of %d identical reruns", alarms, reruns)
	if alarms > 1 {
		t.Fatalf("got %d false alarms in %d identical reruns; want at most 1", alarms, reruns)
	}

	// 2 ms more on every select: p50 from well under a millisecond to over 2.
	var out lockedBuffer
	opts.Out, opts.SelectPath, opts.Scenarios = &out, slowTwinPath, []string{ScenarioSelect}
	_, err = Run(context.Background(), opts)
	var re *RegressionError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "select p50_ms") {
		t.Fatalf("select 2 ms slower: got %v\n%s\nwant a regression naming select p50_ms", err, out.String())
	}
	if !strings.Contains(out.String(), "REGRESSION") {
		t.Fatalf("got output\n%s\nwant the regressed comparison marked", out.String())
	}
}

// TestPlot writes --plot and --markdown from a run against a small server
// and checks the page's structure: one self-contained document with a
// section per scenario holding vegeta's plot page (uPlot inlined, the
// scenario's series in its data), and the markdown's link to it.
func TestPlot(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer srv.Close()
	dir := t.TempDir()
	plotPath, mdPath := filepath.Join(dir, "plots", "bench.html"), filepath.Join(dir, "bench.md")
	if err := os.Mkdir(filepath.Dir(plotPath), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Options{Target: srv.URL, Admin: srv.URL, Scenarios: []string{ScenarioSelect, ScenarioPing},
		Duration: 300 * time.Millisecond, Connections: 8, Rate: 100, Repeat: 2, PlotPath: plotPath, MarkdownPath: mdPath})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(plotPath)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.HasPrefix(page, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Fatalf("got a page starting %q; want one HTML document", page[:min(len(page), 80)])
	}
	// Self-contained: no script, style or frame fetched from elsewhere.
	if m := regexp.MustCompile(`(?i)<(script|link|iframe|img)[^>]*\s(src|href)=`).FindString(page); m != "" {
		t.Fatalf("got %q; want nothing loaded from outside the file", m)
	}
	frames := regexp.MustCompile(`<section id="([a-z]+)">[\s\S]*?<iframe title="[^"]*" srcdoc="([^"]*)"></iframe>\s*</section>`).FindAllStringSubmatch(page, -1)
	if len(frames) != 2 || frames[0][1] != ScenarioSelect || frames[1][1] != ScenarioPing {
		t.Fatalf("got %d sections; want select then ping", len(frames))
	}
	for _, f := range frames {
		doc := html.UnescapeString(f[2])
		for _, want := range []string{"<!doctype html>", "uPlot", "const rowData = [", f[1] + " run 1: OK", f[1] + " run 2: OK", "</html>"} {
			if !strings.Contains(doc, want) {
				t.Fatalf("%s: plot page lacks %q", f[1], want)
			}
		}
		if strings.Contains(doc, "<script src=") {
			t.Fatalf("%s: plot page loads a script from elsewhere", f[1])
		}
	}
	md, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Plot != "plots/bench.html" || !strings.Contains(string(md), "[plots/bench.html](plots/bench.html)") {
		t.Fatalf("got plot link %q and markdown\n%s\nwant a link relative to the markdown file", rep.Plot, md)
	}
}
