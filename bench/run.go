package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
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
		r.progressf("bench: starting PostgreSQL with %s demo customers and pgfast in process", formatCount(float64(o.Customers)))
		sa, err := startStandalone(ctx, o.Customers, o.Logger)
		if err != nil {
			return nil, err
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
	}
	r.progressf("%s", rep.Header())
	rep.Results, rep.Limit = r.runAll(ctx, o.Scenarios)
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
		regs := Compare(base, rep, o.Tolerance)
		tol := strconv.FormatFloat(o.Tolerance*100, 'f', -1, 64) + "%"
		if len(regs) == 0 {
			fmt.Fprintf(out, "\nbaseline %s: no metric worse by more than %s\n", o.Baseline, tol)
		} else {
			fmt.Fprintf(out, "\nbaseline %s: %d metrics worse by more than %s:\n", o.Baseline, len(regs), tol)
			for _, g := range regs {
				fmt.Fprintf(out, "  %s\n", g)
			}
			errs = append(errs, &RegressionError{Baseline: o.Baseline, Tolerance: o.Tolerance, Regressions: regs})
		}
	}
	return rep, errors.Join(errs...)
}

// runAll runs the wanted scenarios, ping first (the others are divided by
// it), then, when select or peak is wanted, the composed limit's D, and
// returns the rows in table order and the limit (nil when neither select
// nor peak ran). The limit needs ping's rate: when ping is not wanted it
// runs anyway, without a row. It stops early when ctx ends.
func (r *runner) runAll(ctx context.Context, wanted []string) ([]Result, *Limit) {
	want := func(s string) bool { return slices.Contains(wanted, s) }
	wantLimit := want(ScenarioSelect) || want(ScenarioPeak)
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
