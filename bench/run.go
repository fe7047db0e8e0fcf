package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tsenart/vegeta/v12/lib/plot"
)

// runner holds one Run's settings and what the scenarios share.
type runner struct {
	o      Options
	target string // base URL of the public listener
	admin  string // base URL of the admin listener
	// upstream is the base URL of the upstream behind ProxyPath, which
	// proxy hits directly too; "" when unknown (a target run without
	// ProxyUpstream), which skips proxy.
	upstream string
	// dbURL is the database the target's main pool uses, which the vs
	// limit column's D runs against: standalone's cluster, or
	// Options.DatabaseURL; "" when unknown.
	dbURL string
	// http serves probes, stats and profiles (not the load).
	http *http.Client
	// errs are failures outside the rows (profiles that could not be pulled).
	errs []error
	// prevTransport is the last attack's, whose connections the next
	// attack's settle closes if any went idle after it ended.
	prevTransport *http.Transport
	// plots are the scenarios' latency plots, with Options.PlotPath.
	plots map[string]*plot.Plot
	// round counts the repeats of the scenarios from 0 (Options.Repeat).
	round int
	// inProcess is true when the target is a standalone engine in this
	// process, whose memory includes the load generator's.
	inProcess bool
}

func (r *runner) progressf(format string, args ...any) {
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, format+"\n", args...)
	}
}

// Run runs the scenarios against opts.Target, or against a pgfast it starts
// itself with opts.Standalone, then prints the report to opts.Out and
// writes the files asked for. It returns the report and, when something
// failed, an error joining a *ScenarioError (a scenario with more than
// MaxErrorRate failed responses, or a value that could not be measured), a
// *RegressionError (metrics worse than opts.Baseline by more than
// opts.Tolerance) and any other failure. Missing a README target is not an
// error: the targets come from an 8-core machine, and the report shows
// pass or fail for each row instead.
func Run(ctx context.Context, opts Options) (rep *Report, err error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	var base *Report
	if o.Baseline != "" {
		if base, err = ReadReport(o.Baseline); err != nil {
			return nil, err
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &runner{o: o, target: o.Target, admin: o.Admin, upstream: o.ProxyUpstream, dbURL: o.DatabaseURL,
		http: &http.Client{Timeout: o.Duration + o.Timeout + 30*time.Second}}
	defer r.http.CloseIdleConnections()
	name := o.Target
	if o.Standalone {
		name = "standalone"
		var sa *standalone
		if len(o.ServeCommand) > 0 {
			r.progressf("bench: starting PostgreSQL with %s demo customers and pgfast (%s)", formatCount(float64(o.Customers)), strings.Join(o.ServeCommand, " "))
			sa, err = startStandaloneProcess(ctx, o.Customers, o.Logger, o.ServeCommand, o.Coalesce)
		} else {
			r.progressf("bench: starting PostgreSQL with %s demo customers and pgfast in process", formatCount(float64(o.Customers)))
			sa, err = startStandalone(ctx, o.Customers, o.Logger)
		}
		if err != nil {
			return nil, err
		}
		if pid := sa.pid(); pid > 0 {
			r.progressf("bench: pgfast serving as pid %d on %s (admin %s)", pid, sa.url, sa.admin)
		} else {
			r.inProcess = true
		}
		defer func() {
			if cerr := sa.close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("bench: cannot stop standalone pgfast: %w", cerr))
			}
		}()
		r.target, r.admin, r.upstream, r.dbURL = sa.url, sa.admin, sa.upstream.url, sa.cluster.URL()
	}
	if _, err := get(ctx, r.http, r.target+"/ping"); err != nil {
		return nil, fmt.Errorf("bench: cannot reach the target: %w", err)
	}

	rep = &Report{
		Machine:     detectMachine(ctx, r.http, r.target, o.Token, o.Version),
		Target:      name,
		Started:     time.Now().UTC().Truncate(time.Second),
		Seconds:     o.Duration.Seconds(),
		Connections: o.Connections,
		Rate:        o.Rate,
		BatchRate:   o.BatchRate,
		BatchSize:   o.BatchSize,
		Repeat:      o.Repeat,
	}
	if o.PlotPath != "" {
		rep.Plot = plotLink(o.PlotPath, o.MarkdownPath)
	}
	r.progressf("%s", rep.Header())
	rounds := make([][]Result, 0, o.Repeat)
	for r.round = 0; r.round < o.Repeat && ctx.Err() == nil; r.round++ {
		if o.Repeat > 1 {
			r.progressf("bench: run %d of %d", r.round+1, o.Repeat)
		}
		rows, limit := r.runAll(ctx, o.Scenarios)
		rounds = append(rounds, rows)
		if r.round == 0 {
			rep.Limit = limit
		}
	}
	rep.Results = mergeRounds(rounds)
	if l := rep.Limit; l != nil && l.Failure == "" {
		// H is the ping row's median when there are repeats; D ran once.
		if p := rep.Result(ScenarioPing); p != nil && p.Metrics[MetricReqPerSec] > 0 {
			l.HTTPReqPerSec = p.Metrics[MetricReqPerSec]
			l.ReqPerSec = composedLimit(l.HTTPReqPerSec, l.DBReqPerSec)
		}
	}
	for i := range rep.Results {
		if len(rep.Results[i].Extra) == 0 {
			rep.Results[i].Extra = nil // as the JSON reads back
		}
	}
	judge(rep)

	out := o.Out
	if out == nil {
		out = io.Discard
	}
	out.Write(rep.AppendText(nil))
	errs := r.errs
	if o.PlotPath != "" {
		if err := r.writePlot(o.PlotPath, rep); err != nil {
			errs = append(errs, err)
		}
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("bench: interrupted: %w", err))
	}
	if o.JSONPath != "" {
		if err := writeReport(o.JSONPath, rep.MarshalIndent); err != nil {
			errs = append(errs, err)
		}
	}
	if o.MarkdownPath != "" {
		if err := writeReport(o.MarkdownPath, func() ([]byte, error) { return rep.AppendMarkdown(nil), nil }); err != nil {
			errs = append(errs, err)
		}
	}
	var failed []Result
	for _, res := range rep.Results {
		if res.Failed() {
			failed = append(failed, res)
		}
	}
	if len(failed) > 0 {
		errs = append(errs, &ScenarioError{Failed: failed})
	}
	if base != nil {
		cmps := CompareAll(base, rep, o.Tolerance)
		out.Write(appendComparisons(nil, o.Baseline, o.Tolerance, rep.Repeat, cmps))
		if regs := regressions(cmps); len(regs) > 0 {
			errs = append(errs, &RegressionError{Baseline: o.Baseline, Tolerance: o.Tolerance, Regressions: regs})
		}
	}
	return rep, errors.Join(errs...)
}

// runAll runs the wanted scenarios once, ping first (the others are divided
// by it), then, when select or peak is wanted, the composed limit's D, and
// returns the rows in table order and the limit (nil when neither select
// nor peak ran). The limit needs ping's rate: when ping is not wanted it
// runs anyway, without a row. D is measured in the first round only (a
// repeat measures the server again, not the database). It stops early when
// ctx ends.
func (r *runner) runAll(ctx context.Context, wanted []string) ([]Result, *Limit) {
	want := func(s string) bool { return slices.Contains(wanted, s) }
	wantLimit := (want(ScenarioSelect) || want(ScenarioPeak)) && r.round == 0
	got := map[string]Result{}
	var limit *Limit
	steps := []struct {
		run  bool
		exec func()
	}{
		{want(ScenarioPing) || wantLimit, func() { got[ScenarioPing] = r.ping(ctx) }},
		// D runs while the target is idle, before the scenarios it is
		// compared with.
		{wantLimit, func() {
			var h float64
			if p := got[ScenarioPing]; !p.Failed() {
				h = p.Metrics[MetricReqPerSec]
			}
			limit = r.measureLimit(ctx, h, r.dbURL)
		}},
		{want(ScenarioSelect), func() { got[ScenarioSelect] = r.selectLatency(ctx) }},
		// pool and memory are measured during peak, so either runs it.
		{want(ScenarioPeak) || want(ScenarioPool) || want(ScenarioMemory), func() {
			peak, pool, memory := r.peak(ctx, want(ScenarioMemory))
			for _, res := range []Result{peak, pool, memory} {
				if want(res.Scenario) {
					got[res.Scenario] = res
				}
			}
		}},
		{want(ScenarioCached), func() { got[ScenarioCached] = r.cached(ctx) }},
		{want(ScenarioProxy), func() { got[ScenarioProxy] = r.proxy(ctx) }},
		{want(ScenarioRows), func() { got[ScenarioRows] = r.rows(ctx) }},
		{want(ScenarioBatch), func() { got[ScenarioBatch] = r.batch(ctx) }},
	}
	for _, s := range steps {
		if ctx.Err() != nil {
			break
		}
		if s.run {
			s.exec()
		}
	}
	var rows []Result
	for _, s := range Scenarios {
		if res, ok := got[s]; ok && want(s) {
			rows = append(rows, res)
		}
	}
	return rows, limit
}

// writeReport writes what encode returns to path.
func writeReport(path string, encode func() ([]byte, error)) error {
	b, err := encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	return nil
}

// ParseScenarios splits a comma-separated list of scenario names ("all" or
// "" for every one), rejecting unknown names.
func ParseScenarios(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return slices.Clone(Scenarios), nil
	}
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(Scenarios, name) {
			return nil, fmt.Errorf("bench: unknown scenario %q; want all or some of %s", name, strings.Join(Scenarios, ","))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// plotLink is how the markdown report links the plot: relative to the
// markdown file's directory when both are files on disk, else as given.
func plotLink(plotPath, markdownPath string) string {
	if markdownPath == "" {
		return filepath.ToSlash(plotPath)
	}
	absPlot, err1 := filepath.Abs(plotPath)
	absMD, err2 := filepath.Abs(markdownPath)
	if err1 != nil || err2 != nil {
		return filepath.ToSlash(plotPath)
	}
	rel, err := filepath.Rel(filepath.Dir(absMD), absPlot)
	if err != nil {
		return filepath.ToSlash(plotPath)
	}
	return filepath.ToSlash(rel)
}
