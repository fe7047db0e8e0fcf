package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pgfast/pgfast"
	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg"
)

// Limit is the composed limit of the select and peak rows (DESIGN §8's
// "vs limit" column): an HTTP server that answers H req/s in front of a
// database that runs the route's statement D times per second, each request
// paying both costs, can serve at most L = 1/(1/H + 1/D) req/s. Both are
// measured in the same run as the rows they are compared with.
type Limit struct {
	// HTTPReqPerSec is H, the ping scenario's req/s.
	HTTPReqPerSec float64 `json:"http_req_per_s"`
	// DBReqPerSec is D, the route's statement run straight against
	// PostgreSQL by pgbench with Connections connections for Seconds.
	DBReqPerSec float64 `json:"db_req_per_s"`
	// ReqPerSec is L = 1/(1/H + 1/D).
	ReqPerSec float64 `json:"req_per_s"`
	// Connections is how many statements D ran at once: the target's main
	// pool size (min of max_conns and max_concurrent_queries, from
	// /admin/stats), at most Options.Connections, since that is how many
	// the route can run at once.
	Connections int `json:"connections"`
	// Seconds is how long D ran: Options.Duration rounded up to whole
	// seconds (pgbench's -T).
	Seconds float64 `json:"seconds"`
	// Statement is the SQL D ran, with $1 a random id in 1..Options.IDs.
	Statement string `json:"statement"`
	// Failure, when set, says why L is unknown; the column then shows "—".
	// It is a note, not a failed scenario.
	Failure string `json:"failure,omitempty"`
}

// composedLimit is 1/(1/h + 1/d), 0 unless both are positive.
func composedLimit(h, d float64) float64 {
	if !(h > 0) || !(d > 0) {
		return 0
	}
	return 1 / (1/h + 1/d)
}

// limitScenarios have a "vs limit" cell: the routes whose every request runs
// the statement D measures.
var limitScenarios = map[string]bool{ScenarioSelect: true, ScenarioPeak: true}

// demoSelectSQL is the statement of the demo's /customers/{id}, which
// standalone's uncached twin and a target's default --select-path run.
func demoSelectSQL() (string, error) {
	cfg, err := config.Parse(pgfast.DemoConfig, "yaml")
	if err != nil {
		return "", fmt.Errorf("BUG: demo config does not parse: %w", err)
	}
	for i := range cfg.Routes {
		if cfg.Routes[i].Name == demoCachedRoute {
			return cfg.Routes[i].SQL, nil
		}
	}
	return "", fmt.Errorf("BUG: demo config has no %q route", demoCachedRoute)
}

// measureLimit runs D and composes it with h, the ping scenario's req/s
// (0 when ping failed). dbURL is the database the target's main pool uses
// ("" when unknown).
//
// D is measured with pgbench (-M prepared: one Parse per connection, then
// Bind/Execute per statement, as pgfast's pgx does), "pgbench's method" of
// DESIGN §8, rather than with a pgx loop in this package: bench may import
// engine, config and embedpg only (layering_test.go), so neither pgx nor
// pool is within its reach.
func (r *runner) measureLimit(ctx context.Context, h float64, dbURL string) *Limit {
	lim := &Limit{HTTPReqPerSec: h, Statement: r.o.LimitSQL, Seconds: math.Ceil(r.o.Duration.Seconds())}
	switch {
	case dbURL == "":
		lim.Failure = "no --database-url: name the database the target's main pool uses so the statement can be run straight against it"
		return lim
	case !(h > 0):
		lim.Failure = "no /ping rate to compose with: the ping scenario failed"
		return lim
	}
	st, err := readStats(ctx, r.http, r.admin)
	if err != nil {
		lim.Failure = "cannot read the main pool's size: " + err.Error()
		return lim
	}
	p, ok := st.Pools[mainPool]
	if !ok || p.MaxConns <= 0 {
		lim.Failure = "/admin/stats has no size for pool " + mainPool
		return lim
	}
	lim.Connections = int(p.MaxConns)
	if p.GateSize > 0 {
		lim.Connections = min(lim.Connections, p.GateSize)
	}
	lim.Connections = min(lim.Connections, r.o.Connections)
	r.progressf("bench: limit: %s straight against PostgreSQL with %d connections for %s (pgbench)",
		clipSQL(lim.Statement), lim.Connections, formatSeconds(lim.Seconds))
	d, err := runPgbench(ctx, dbURL, lim.Statement, r.o.IDs, lim.Connections, int(lim.Seconds))
	if err != nil {
		lim.Failure = err.Error()
		return lim
	}
	lim.DBReqPerSec, lim.ReqPerSec = d, composedLimit(h, d)
	r.progressf("bench: limit: D %s statements/s, H %s req/s, L %s req/s", formatCount(d), formatCount(h), formatCount(lim.ReqPerSec))
	return lim
}

// clipSQL shortens a statement for a progress line.
func clipSQL(sql string) string {
	if len(sql) > 60 {
		return sql[:60] + "…"
	}
	return sql
}

// findPgbench returns pgbench from PATH, or from the PostgreSQL binaries
// embedpg would start.
func findPgbench() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	if dir, err := embedpg.FindBinaries(""); err == nil {
		p := filepath.Join(dir, "pgbench")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("cannot find pgbench (in PATH or beside postgres): install the PostgreSQL client tools to measure D")
}

// pgbenchScript turns a statement with one parameter $1 into a pgbench
// script that draws $1 uniformly from 1..ids. In prepared mode pgbench
// sends :id as a parameter, so the server sees the same statement as from
// pgfast.
func pgbenchScript(sql string, ids int) ([]byte, error) {
	if !strings.Contains(sql, "$1") || strings.Contains(sql, "$2") {
		return nil, fmt.Errorf("the limit statement must have exactly one parameter, $1 (an id); got %q", sql)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "\\set id random(1, %d)\n", ids)
	b.WriteString(strings.ReplaceAll(strings.TrimRight(strings.TrimSpace(sql), ";"), "$1", ":id"))
	b.WriteString(";\n")
	return b.Bytes(), nil
}

// runPgbench runs sql against dbURL with conns connections for seconds and
// returns pgbench's transactions per second (one statement each).
func runPgbench(ctx context.Context, dbURL, sql string, ids, conns, seconds int) (float64, error) {
	bin, err := findPgbench()
	if err != nil {
		return 0, err
	}
	script, err := pgbenchScript(sql, ids)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp("", "pgfast-bench-*.sql")
	if err != nil {
		return 0, fmt.Errorf("cannot write the pgbench script: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(script); err != nil {
		f.Close()
		return 0, fmt.Errorf("cannot write the pgbench script: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("cannot write the pgbench script: %w", err)
	}
	// One pgbench thread per core at most: more would only contend with
	// the server for the same cores.
	threads := max(1, min(conns, runtime.NumCPU()))
	cmd := exec.CommandContext(ctx, bin, "--no-vacuum", "--protocol=prepared",
		"--client="+strconv.Itoa(conns), "--jobs="+strconv.Itoa(threads), "--time="+strconv.Itoa(max(1, seconds)),
		"--file="+f.Name())
	// The URL goes in PGDATABASE (libpq expands a connection string there)
	// rather than in argv, where ps would show its password.
	cmd.Env = append(os.Environ(), "PGDATABASE="+dbURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("pgbench failed: %w: %s", err, clip(stderr.Bytes()))
	}
	return parsePgbench(stdout.Bytes())
}

var (
	// PostgreSQL 14 and later say "without initial connection time", older
	// pgbench "excluding connections establishing".
	pgbenchTPS    = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)`)
	pgbenchFailed = regexp.MustCompile(`(?m)^number of failed transactions: ([0-9]+)`)
)

// parsePgbench reads the tps (initial connection time excluded) from
// pgbench's report, and refuses a run with failed transactions.
func parsePgbench(out []byte) (float64, error) {
	if m := pgbenchFailed.FindSubmatch(out); m != nil && string(m[1]) != "0" {
		return 0, fmt.Errorf("pgbench: %s statements failed: %s", m[1], clip(out))
	}
	m := pgbenchTPS.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("cannot find the tps in pgbench's output: %s", clip(out))
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || !(tps > 0) {
		return 0, fmt.Errorf("pgbench reported tps %q; want a positive number", m[1])
	}
	return tps, nil
}
