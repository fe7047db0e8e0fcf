package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pgfast/pgfast/config"
)

// Default values that Options.withDefaults gives zero fields.
const (
	// DefaultDuration is how long each scenario runs.
	DefaultDuration = 10 * time.Second
	// DefaultConnections is the connection count of the peak, cached, proxy
	// and ping scenarios: DESIGN §8 measures them with 1000 clients.
	DefaultConnections = 1000
	// DefaultRate is the select scenario's fixed rate (requests per second):
	// moderate, so its p50/p99 measure a server that is not saturated.
	DefaultRate = 500
	// DefaultBatchRate is the batch scenario's fixed rate (batches per second).
	DefaultBatchRate = 20
	// DefaultBatchSize is how many SELECTs one /v1/batch request holds.
	DefaultBatchSize = 100
	// DefaultRowsConnections caps the rows scenario's connections: each
	// response is about 1 MB, and a thousand of them in flight would measure
	// the client's memory, not pgfast.
	DefaultRowsConnections = 32
	// DefaultIDs is the id range of the demo data (embedpg.DefaultCustomers).
	DefaultIDs = 100_000
	// DefaultCachedKeys is the size of the cached scenario's key space.
	DefaultCachedKeys = 10_000
	// DefaultZipfS is the skew of the cached scenario's keys: P(k) ∝ k^-s.
	DefaultZipfS = 1.1
	// DefaultTolerance is how much worse than the baseline a metric may get
	// before Run reports a regression: 30%. On the shared 2-core machine
	// the README's figures come from, throughput drifted by up to 29%
	// between identical runs minutes apart, more than the spread within a
	// run shows, so 10% failed identical reruns; a change must also exceed
	// the metric's noise floor (see Compare). A 2 ms slower select route is
	// +400% or more on its p50.
	DefaultTolerance = 0.30
	// DefaultBaselineRepeat is how many times each scenario runs when
	// there is a baseline to compare with: the median of three runs, and
	// their spread as the noise floor.
	DefaultBaselineRepeat = 3
	// MaxRepeat bounds Options.Repeat.
	MaxRepeat = 100
	// DefaultTimeout bounds one request.
	DefaultTimeout = 30 * time.Second
	// DefaultProfileDir is where --profile writes profiles and flame graphs.
	DefaultProfileDir = "profiles"
	// DefaultToken is the demo account's token: `pgfast serve` with no
	// config serves it, so a target run against the demo needs no --token.
	DefaultToken = "sk_demo_local_only"

	// DefaultSelectPath, DefaultCachedPath and DefaultRowsPath are the routes
	// a target run uses; {id} is replaced by a customer id. The demo's
	// /customers/{id} is cached, so for a meaningful select and peak point
	// SelectPath at an uncached route.
	DefaultSelectPath = "/customers/{id}"
	DefaultCachedPath = "/customers/{id}"
	DefaultRowsPath   = "/customers?limit=1000"
	// DefaultProxyPath is the proxy scenario's upstream route: it requests
	// DefaultProxyPath + "x". Standalone serves it as /bench/proxy/*.
	DefaultProxyPath = "/bench/proxy/"
	// DefaultBatchQuery is the statement each entry of the batch runs, with
	// $1 a random customer id.
	DefaultBatchQuery = "SELECT customer_id, first_name, last_name, email FROM customer WHERE customer_id = $1"
)

// Options configure Run. The zero value is not runnable: set Target or
// Standalone; every other field has a working default.
type Options struct {
	// Target is the base URL of a running pgfast, e.g. http://127.0.0.1:8580.
	// Set exactly one of Target and Standalone.
	Target string
	// Admin is the target's admin listener (stats for the cached and pool
	// rows, pprof for Profile). Default: Target's host on port 8581, the
	// admin_addr default.
	Admin string
	// Standalone starts a throwaway PostgreSQL (embedpg) with the demo data
	// and pgfast on free loopback ports, with its own account and an
	// uncached twin of /customers/{id}: a process of its own when
	// ServeCommand is set, else an engine in this process.
	Standalone bool
	// ServeCommand is how Standalone starts pgfast in a process of its
	// own: the binary and its leading arguments, e.g. {"/usr/bin/pgfast",
	// "serve"}; bench appends --config and a file it writes, and hands
	// over the listening sockets. `pgfast bench` sets it to its own binary,
	// so the memory row and a CPU profile are pgfast's alone, as in
	// production. Empty, the engine runs in this process (a test binary is
	// not pgfast), and the memory row then includes the load generator.
	ServeCommand []string
	// Coalesce, with ServeCommand, sets routes[].coalesce of the uncached
	// twin that select and peak request (auto, pipeline or off), to
	// compare the ways waiting requests share a connection; "" keeps the
	// route's default (auto).
	Coalesce string
	// Customers is how many demo rows Standalone loads. Default
	// embedpg.DefaultCustomers (100,000); the smoke test uses fewer.
	Customers int

	// Scenarios to run, by name (see Scenarios). Default: all. pool is
	// measured during peak, so asking for pool runs the peak load too.
	Scenarios []string
	// Duration is how long each scenario runs. Default 10s.
	Duration time.Duration
	// Connections is the number of client connections (and workers) of the
	// peak, cached, proxy (both of its runs) and ping scenarios, and the cap
	// of the others. Default 1000.
	Connections int
	// Rate is the select scenario's fixed request rate per second. Default 500.
	Rate int
	// BatchRate is the batch scenario's fixed rate in batches per second.
	// Default 20.
	BatchRate int
	// BatchSize is the number of SELECTs in one /v1/batch body, 1 to 1000.
	// Default 100.
	BatchSize int
	// BatchQuery is the statement of every batch entry; $1 gets a random id.
	// Default DefaultBatchQuery.
	BatchQuery string
	// Token is the account token for /v1/batch and for reading the
	// PostgreSQL version. Default DefaultToken; Standalone uses its own.
	Token string
	// SelectPath is the uncached route of select and peak, CachedPath the
	// cached route, RowsPath the many-rows route; "{id}" is replaced by a
	// customer id. Defaults DefaultSelectPath, DefaultCachedPath and
	// DefaultRowsPath; Standalone serves /bench/customers/{id} uncached.
	SelectPath, CachedPath, RowsPath string
	// ProxyPath is the proxy scenario's upstream route on the target: the
	// scenario requests ProxyPath + "x" through it, and the same path on the
	// upstream directly. Default DefaultProxyPath, which Standalone serves.
	ProxyPath string
	// ProxyUpstream is the base URL of the upstream the target's ProxyPath
	// route forwards to, e.g. http://127.0.0.1:9001, which the proxy
	// scenario also hits directly for its ratio. Without it a target run
	// skips proxy (its row says so): bench cannot know where the target's
	// route goes. Standalone starts its own upstream, so it must be empty
	// there.
	ProxyUpstream string
	// DatabaseURL is the database the target's main pool uses, e.g.
	// postgres://user:pass@host:5432/db: the vs limit column runs the
	// select route's statement (LimitSQL) straight against it with pgbench
	// for D. Without it a target run shows "—" there and says why.
	// Standalone knows its own cluster, so it must be empty there.
	DatabaseURL string
	// LimitSQL is the select route's statement, with $1 the id, that D
	// runs. Default the demo's /customers/{id} statement, which
	// Standalone's twin and DefaultSelectPath run; set it when SelectPath
	// names another route.
	LimitSQL string
	// IDs is the customer id range, 1..IDs, random ids are drawn from.
	// Default Customers in standalone, DefaultIDs for a target.
	IDs int
	// CachedKeys is the cached scenario's key space: ids 1..CachedKeys,
	// each requested once before the measurement so the cache is warm.
	// Default 10,000 (at most IDs).
	CachedKeys int
	// ZipfS is the skew of the cached scenario's keys, > 1. Default 1.1.
	ZipfS float64
	// Timeout bounds one request. Default 30s.
	Timeout time.Duration

	// Profile pulls a CPU and a heap profile from the admin listener during
	// every load scenario into ProfileDir/<scenario>-{cpu,heap}.pprof and
	// renders ProfileDir/<scenario>-cpu.svg, a flame graph.
	Profile bool
	// ProfileDir is where Profile writes. Default "profiles".
	ProfileDir string

	// JSONPath, when set, receives the report as JSON (a future Baseline).
	JSONPath string
	// MarkdownPath, when set, receives the report as a markdown table.
	MarkdownPath string
	// Baseline, when set, is a JSON report of an earlier run: Run fails with
	// a *RegressionError naming every metric worse by more than Tolerance.
	Baseline string
	// Tolerance is the relative change allowed before a regression, e.g.
	// 0.10 for 10%. Default (0) 0.30; negative is invalid. A change must
	// also exceed the metric's noise floor (see Compare).
	Tolerance float64
	// Repeat runs every scenario this many times, round after round, and
	// reports each metric's median, with every run's value in
	// Result.Samples: their spread is the noise floor a baseline comparison
	// uses. Default 3 (DefaultBaselineRepeat) with a Baseline, else 1. A
	// baseline written with Repeat > 1 carries its own spread too, which
	// makes the gate steadier: see the README on choosing a tolerance.
	Repeat int
	// PlotPath, when set, receives an HTML page with a latency-over-time
	// plot per scenario (vegeta's plot, all inlined), which the markdown
	// report links.
	PlotPath string

	// Out receives the header and the final table; nil discards them.
	Out io.Writer
	// Progress receives a live progress line during each scenario; nil
	// shows none. ProgressBar redraws one line with a bar (for a terminal)
	// instead of printing a plain line per second (for CI logs).
	Progress    io.Writer
	ProgressBar bool
	// Logger receives standalone mode's operational logs; nil discards them.
	Logger *slog.Logger
	// Version is the pgfast version the header names; "" leaves it out.
	Version string
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if len(o.Scenarios) == 0 {
		o.Scenarios = slices.Clone(Scenarios)
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Connections == 0 {
		o.Connections = DefaultConnections
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.BatchRate == 0 {
		o.BatchRate = DefaultBatchRate
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.BatchQuery == "" {
		o.BatchQuery = DefaultBatchQuery
	}
	if o.Customers == 0 {
		o.Customers = DefaultIDs
	}
	if o.LimitSQL == "" {
		// Validate reports an empty LimitSQL, which only a broken demo
		// config would leave here.
		o.LimitSQL, _ = demoSelectSQL()
	}
	if o.Standalone {
		o.Token = standaloneToken
		if o.SelectPath == "" {
			o.SelectPath = standaloneSelectPath
		}
		if o.IDs == 0 {
			o.IDs = o.Customers
		}
	}
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.SelectPath == "" {
		o.SelectPath = DefaultSelectPath
	}
	if o.CachedPath == "" {
		o.CachedPath = DefaultCachedPath
	}
	if o.RowsPath == "" {
		o.RowsPath = DefaultRowsPath
	}
	if o.ProxyPath == "" {
		o.ProxyPath = DefaultProxyPath
	}
	if o.IDs == 0 {
		o.IDs = DefaultIDs
	}
	if o.CachedKeys == 0 {
		o.CachedKeys = min(DefaultCachedKeys, o.IDs)
	}
	if o.ZipfS == 0 {
		o.ZipfS = DefaultZipfS
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ProfileDir == "" {
		o.ProfileDir = DefaultProfileDir
	}
	if o.Tolerance == 0 {
		o.Tolerance = DefaultTolerance
	}
	if o.Repeat == 0 {
		o.Repeat = 1
		if o.Baseline != "" {
			o.Repeat = DefaultBaselineRepeat
		}
	}
	if o.Admin == "" && o.Target != "" {
		if u, err := url.Parse(o.Target); err == nil && u.Hostname() != "" {
			o.Admin = u.Scheme + "://" + net.JoinHostPort(u.Hostname(), "8581")
		}
	}
	o.Target = strings.TrimRight(o.Target, "/")
	o.Admin = strings.TrimRight(o.Admin, "/")
	o.ProxyUpstream = strings.TrimRight(o.ProxyUpstream, "/")
	return o
}

// Validate reports the first problem with o after defaults, naming the
// option and the value.
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Standalone && o.Target != "":
		return errors.New("bench: give either a target URL or standalone, not both")
	case !o.Standalone && o.Target == "":
		return errors.New("bench: give a target URL (--target http://host:8580) or standalone (--standalone)")
	}
	if !o.Standalone {
		if err := checkURL("target", o.Target); err != nil {
			return err
		}
		if err := checkURL("admin", o.Admin); err != nil {
			return err
		}
	}
	if o.DatabaseURL != "" && o.Standalone {
		return errors.New("bench: database URL is for a target run; standalone measures its own cluster")
	}
	if o.Coalesce != "" {
		switch {
		case !o.Standalone:
			return errors.New("bench: coalesce is for a standalone run; a target's routes say their own")
		case !slices.Contains([]string{config.CoalesceAuto, config.CoalescePipeline, config.CoalesceOff}, o.Coalesce):
			return fmt.Errorf("bench: coalesce must be auto, pipeline or off; got %q", o.Coalesce)
		}
	}
	if _, err := pgbenchScript(o.LimitSQL, o.IDs); err != nil {
		return fmt.Errorf("bench: limit sql: %w", err)
	}
	if o.ProxyUpstream != "" {
		if o.Standalone {
			return errors.New("bench: proxy upstream is for a target run; standalone starts its own upstream")
		}
		if err := checkURL("proxy upstream", o.ProxyUpstream); err != nil {
			return err
		}
	}
	for _, s := range o.Scenarios {
		if !slices.Contains(Scenarios, s) {
			return fmt.Errorf("bench: unknown scenario %q; want one of %s", s, strings.Join(Scenarios, ", "))
		}
	}
	positive := []struct {
		name string
		v    int64
	}{
		{"duration", int64(o.Duration)}, {"connections", int64(o.Connections)}, {"rate", int64(o.Rate)},
		{"batch rate", int64(o.BatchRate)}, {"customers", int64(o.Customers)}, {"ids", int64(o.IDs)},
		{"cached keys", int64(o.CachedKeys)}, {"timeout", int64(o.Timeout)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return fmt.Errorf("bench: %s must be > 0; got %d", p.name, p.v)
		}
	}
	if o.BatchSize < 1 || o.BatchSize > 1000 {
		return fmt.Errorf("bench: batch size must be 1 to 1000 (the /v1/batch limit); got %d", o.BatchSize)
	}
	if o.CachedKeys > o.IDs {
		return fmt.Errorf("bench: cached keys (%d) must not exceed ids (%d)", o.CachedKeys, o.IDs)
	}
	if !(o.ZipfS > 1) {
		return fmt.Errorf("bench: zipf s must be > 1; got %v", o.ZipfS)
	}
	if o.Tolerance < 0 {
		return fmt.Errorf("bench: tolerance must be >= 0; got %v", o.Tolerance)
	}
	if o.Repeat < 1 || o.Repeat > MaxRepeat {
		return fmt.Errorf("bench: repeat must be 1 to %d; got %d", MaxRepeat, o.Repeat)
	}
	for _, p := range []struct{ name, path string }{
		{"select path", o.SelectPath}, {"cached path", o.CachedPath}, {"rows path", o.RowsPath}, {"proxy path", o.ProxyPath},
	} {
		if !strings.HasPrefix(p.path, "/") {
			return fmt.Errorf("bench: %s must start with /; got %q", p.name, p.path)
		}
	}
	for _, p := range []struct{ name, path string }{{"select path", o.SelectPath}, {"cached path", o.CachedPath}} {
		if !strings.Contains(p.path, idPlaceholder) {
			return fmt.Errorf("bench: %s must hold %s, where the customer id goes; got %q", p.name, idPlaceholder, p.path)
		}
	}
	return nil
}

func checkURL(name, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("bench: %s must be an http:// or https:// URL with a host; got %q", name, s)
	}
	return nil
}

// ParseTolerance reads a tolerance as "10%" or as a fraction "0.1".
func ParseTolerance(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, "%")), 64)
	if err != nil || v < 0 || v != v {
		return 0, fmt.Errorf("bench: cannot parse tolerance %q: want a percentage such as 10%% or a fraction such as 0.1", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}
