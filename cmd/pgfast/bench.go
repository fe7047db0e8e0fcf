package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/pgfast/pgfast/bench"
)

const benchDescription = `Replays the README's benchmark table (DESIGN §8) against a running pgfast
(--target http://host:8580) or against one it starts itself (--standalone: a
throwaway PostgreSQL with the demo data, and this binary's "serve" as a
process of its own on free ports, so its memory and CPU are pgfast's alone;
it is stopped when bench ends, on an error or Ctrl-C too).

Scenarios (--scenarios, default all; each runs for --duration):
  select  GET --select-path with random ids at --rate req/s: p50, p99
  peak    the same route with --connections clients as fast as they go: req/s
  cached  GET --cached-path, Zipf keys over ids 1..--cached-keys, --connections
          clients, after a warm-up that requests every key once: req/s, and the
          hit rate from the admin listener's /admin/stats
  proxy   GET <--proxy-path>x through an upstream route with --connections
          clients, then the same path on the upstream directly, as many clients
          for as long: req/s through pgfast, req/s direct and the ratio
  rows    GET --rows-path (1000 rows of about 1 KB): rows/s
  batch   POST /v1/batch of --batch-size SELECTs (--token) at --batch-rate/s: p50
  pool    1 - empty acquires / acquires of the main pool during peak (/admin/stats)
  memory  the target's peak RSS during peak, polled every 100 ms from /admin/stats
          (process.rss_bytes), and its high-water mark after (max_rss_bytes); asking
          for memory (or pool) runs the peak load even without its row
  ping    GET /ping with --connections clients: the HTTP ceiling; peak, cached and
          proxy are shown as a ratio of it

The "vs limit" column of select and peak divides their req/s by the composed
limit 1/(1/H + 1/D) measured in the same run: H is ping's req/s (ping runs for
it even when not asked for), D is the select route's statement (--limit-sql,
default the demo's /customers/{id} statement) run by pgbench in prepared mode
straight against PostgreSQL with as many connections as the target's main pool
runs statements at once (min of max_conns and max_concurrent_queries, from
/admin/stats, at most --connections), for --duration rounded up to seconds.
--standalone uses its own cluster; against a target, --database-url names the
database (without it the column shows "—" and a note says why). pgbench comes
from PATH or beside the postgres binaries.

Against a target, the routes come from flags: --select-path /customers/{id},
--cached-path /customers/{id}, --rows-path "/customers?limit=1000", ids 1..--ids
(100000); {id} is replaced by an id. The demo's /customers/{id} is cached, so
point --select-path at an uncached route for a meaningful select and peak (the
report notes it when the select route answers with a max-age). --admin defaults
to the target's host on port 8581. --standalone serves an uncached twin at
/bench/customers/{id} and its own account, so no flag is needed. Requests send
no Accept-Encoding: bodies are measured uncompressed.

proxy needs an upstream route: --standalone starts a small upstream itself (a
fixed JSON body of about 100 bytes to any GET) and routes /bench/proxy/* to it.
Against a target, --proxy-path (default /bench/proxy/) must be an upstream
route of the target, and --proxy-upstream must name the upstream it forwards
to (e.g. http://127.0.0.1:9001), which bench hits directly for the ratio;
without --proxy-upstream the proxy row is reported as skipped (not an error).

The table prints each row's README target, the measured value, the ratio to
/ping where it applies, the ratio to the composed limit (select and peak), the
failed share and pass or fail, under a header that
names this machine (cores, CPU, Go, PostgreSQL). The targets come from an
8-core machine, so fail is expected on smaller ones and does NOT change the exit
code. The exit code is 1 when a scenario fails (more than 0.1% of its responses
non-2xx, a transport error or a failed batch entry; or a value that could not
be measured, such as /admin/stats unreachable), when --profile cannot pull a
profile, or when --baseline finds a metric worse than the saved --json by more
than --tolerance and by more than its noise; each such metric is named.
Otherwise 0.

--repeat N runs every scenario N times, round after round (default 3 with
--baseline, else 1), and reports each metric's median. A metric's noise is
twice the larger spread (max - min) of its runs here or in the baseline (a
baseline written with --repeat keeps its runs), at least a fixed floor (0.1 ms
for a latency, one point for a hit rate or an efficiency); the baseline
section prints every comparison with its noise beside it. Every scenario
starts from a settled client: the previous attacker stopped, its connections
closed, a GC run and its goroutines gone (waited for, up to 5s); a paced
attack (select, batch) runs a tenth of --duration (100 ms to 1 s) before its
results count. The notes under the table say so.

--plot FILE.html writes one self-contained page with a latency-over-time plot
per scenario (vegeta's plot: every request's latency against time, warm-up
included; repeated runs are separate series), which --markdown links.

--profile pulls a CPU profile (most of each scenario) and a heap profile (half
way) from the admin listener into --profile-dir/<scenario>-{cpu,heap}.pprof and
draws <scenario>-cpu.svg, a flame graph any browser opens.`

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:        "bench",
		Usage:       "load-test a pgfast (--target URL or --standalone) and print the README's benchmark table",
		Description: benchDescription,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Usage: "base URL of a running pgfast, e.g. http://127.0.0.1:8580"},
			&cli.StringFlag{Name: "admin", Usage: "its admin listener (default: the target's host on port 8581)"},
			&cli.BoolFlag{Name: "standalone", Usage: "start PostgreSQL (embedded) and pgfast serve (this binary) instead of --target"},
			&cli.IntFlag{Name: "customers", Value: bench.DefaultIDs, Usage: "demo rows --standalone loads"},
			&cli.StringFlag{Name: "coalesce", Usage: "--standalone: routes[].coalesce of the uncached route select and peak request (auto, pipeline, off; default auto)"},
			&cli.StringFlag{Name: "scenarios", Value: "all", Usage: "comma-separated: select,peak,cached,proxy,rows,batch,pool,memory,ping"},
			&cli.DurationFlag{Name: "duration", Value: bench.DefaultDuration, Usage: "length of each scenario"},
			&cli.IntFlag{Name: "connections", Value: bench.DefaultConnections, Usage: "clients of peak, cached, proxy and ping (rows uses at most 32)"},
			&cli.IntFlag{Name: "rate", Value: bench.DefaultRate, Usage: "fixed rate of select, requests per second"},
			&cli.IntFlag{Name: "batch-rate", Value: bench.DefaultBatchRate, Usage: "fixed rate of batch, batches per second"},
			&cli.IntFlag{Name: "batch-size", Value: bench.DefaultBatchSize, Usage: "SELECTs per /v1/batch request (at most 1000)"},
			&cli.StringFlag{Name: "token", Value: bench.DefaultToken, Usage: "account token for /v1/batch and the PostgreSQL version (ignored with --standalone)"},
			&cli.StringFlag{Name: "select-path", Value: bench.DefaultSelectPath, Usage: "uncached route of select and peak; {id} gets an id (--standalone: /bench/customers/{id})"},
			&cli.StringFlag{Name: "cached-path", Value: bench.DefaultCachedPath, Usage: "cached route of cached; {id} gets an id"},
			&cli.StringFlag{Name: "rows-path", Value: bench.DefaultRowsPath, Usage: "route answering a JSON array of many rows"},
			&cli.StringFlag{Name: "proxy-path", Value: bench.DefaultProxyPath, Usage: "upstream route of proxy; it requests <proxy-path>x (--standalone serves /bench/proxy/*)"},
			&cli.StringFlag{Name: "proxy-upstream", Usage: "base URL of the upstream --proxy-path forwards to, hit directly for proxy's ratio; without it a --target run skips proxy"},
			&cli.StringFlag{Name: "database-url", Usage: "database of the target's main pool, which the vs limit column's D runs against with pgbench (--standalone uses its own)"},
			&cli.StringFlag{Name: "limit-sql", Usage: "the --select-path route's statement, $1 the id, that D runs", DefaultText: "the demo's /customers/{id} statement"},
			&cli.IntFlag{Name: "ids", Usage: "ids are drawn from 1..ids", DefaultText: "--customers with --standalone, else 100000"},
			&cli.IntFlag{Name: "cached-keys", Usage: "key space of cached: ids 1..N, each requested once before the measurement", DefaultText: "10000, at most --ids"},
			&cli.Float64Flag{Name: "zipf-s", Value: bench.DefaultZipfS, Usage: "skew of cached's keys (> 1; larger is hotter)"},
			&cli.StringFlag{Name: "json", Usage: "write the report as JSON to this file (a future --baseline)"},
			&cli.StringFlag{Name: "markdown", Usage: "write the report as a markdown table to this file"},
			&cli.StringFlag{Name: "baseline", Usage: "JSON report of an earlier run: exit 1 naming every metric that got worse"},
			&cli.StringFlag{Name: "tolerance", Value: "30%", Usage: "how much worse than --baseline a metric may get (beyond its noise too)"},
			&cli.IntFlag{Name: "repeat", Usage: "run each scenario N times and report medians; their spread is the noise floor against --baseline", DefaultText: "3 with --baseline, else 1"},
			&cli.StringFlag{Name: "plot", Usage: "write a latency-over-time plot per scenario to this HTML file (the markdown report links it)"},
			&cli.BoolFlag{Name: "profile", Usage: "pull CPU and heap profiles and draw a flame graph per scenario"},
			&cli.StringFlag{Name: "profile-dir", Value: bench.DefaultProfileDir, Usage: "where --profile writes"},
		},
		Action: func(c *cli.Context) error {
			tol, err := bench.ParseTolerance(c.String("tolerance"))
			if err != nil {
				return err
			}
			scenarios, err := bench.ParseScenarios(c.String("scenarios"))
			if err != nil {
				return err
			}
			opts := bench.Options{
				Target:        c.String("target"),
				Admin:         c.String("admin"),
				Standalone:    c.Bool("standalone"),
				Customers:     c.Int("customers"),
				Coalesce:      c.String("coalesce"),
				Scenarios:     scenarios,
				Duration:      c.Duration("duration"),
				Connections:   c.Int("connections"),
				Rate:          c.Int("rate"),
				BatchRate:     c.Int("batch-rate"),
				BatchSize:     c.Int("batch-size"),
				Token:         c.String("token"),
				CachedPath:    c.String("cached-path"),
				RowsPath:      c.String("rows-path"),
				ProxyPath:     c.String("proxy-path"),
				ProxyUpstream: c.String("proxy-upstream"),
				DatabaseURL:   c.String("database-url"),
				LimitSQL:      c.String("limit-sql"),
				IDs:           c.Int("ids"),
				ZipfS:         c.Float64("zipf-s"),
				JSONPath:      c.String("json"),
				MarkdownPath:  c.String("markdown"),
				Baseline:      c.String("baseline"),
				Tolerance:     tol,
				Repeat:        c.Int("repeat"),
				PlotPath:      c.String("plot"),
				Profile:       c.Bool("profile"),
				ProfileDir:    c.String("profile-dir"),
				Out:           c.App.Writer,
				Progress:      os.Stderr,
				ProgressBar:   isTerminal(os.Stderr),
				Version:       version,
			}
			if opts.Standalone {
				exe, err := os.Executable()
				if err != nil {
					return fmt.Errorf("bench: cannot find the pgfast binary to serve --standalone: %w", err)
				}
				opts.ServeCommand = []string{exe, "serve"}
			}
			// Standalone serves its own uncached twin unless a path was given.
			if c.IsSet("select-path") || !opts.Standalone {
				opts.SelectPath = c.String("select-path")
			}
			// Unset, the key space defaults to min(10000, ids).
			if c.IsSet("cached-keys") {
				opts.CachedKeys = c.Int("cached-keys")
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			_, err = bench.Run(ctx, opts)
			return err
		},
	}
}

// isTerminal reports whether w is an interactive terminal (a progress bar
// redrawn in place), as opposed to a file or a CI log (plain lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("CI") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
