package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestMain(m *testing.M) { pgtest.RunMain(m) }

// buildBinary compiles pgfast once for the package's tests.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "pgfast-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pgfast")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func binary(t *testing.T) string {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckNamesUnknownKey(t *testing.T) {
	cfg := writeFile(t, "bad.yaml", "server:\n  addr: \":8580\"\n  max_bodybytes: 10\n")
	out, err := exec.Command(binary(t), "check", "--config", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("check of a bad config exited 0:\n%s", out)
	}
	if !strings.Contains(string(out), "server.max_bodybytes") {
		t.Fatalf("got %s; want the unknown key's path server.max_bodybytes", out)
	}
	good := writeFile(t, "good.yaml", "server: {addr: \":8580\"}\n")
	if out, err := exec.Command(binary(t), "check", "--offline", "--config", good).CombinedOutput(); err != nil {
		t.Fatalf("check of a good config: %v\n%s", err, out)
	}
}

func TestCheckCompilesRoutesAgainstTheDatabase(t *testing.T) {
	url := pgtest.NewDatabase(t, "CREATE TABLE t (id int)")
	cfg := writeFile(t, "routes.yaml", fmt.Sprintf(`
databases: {main: {url: %q}}
routes:
  - name: ok
    path: /t/{id}
    sql: SELECT id FROM t WHERE id = $1
    params: [path.id]
  - name: typo
    path: /u/{id}
    sql: SELECT id FROM tt WHERE id = $1
    params: [path.id]
`, url))
	out, err := exec.Command(binary(t), "check", "--config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "routes typo") || !strings.Contains(string(out), `"tt" does not exist`) {
		t.Fatalf("got err=%v:\n%s\nwant a failure naming route typo and table tt", err, out)
	}
}

func TestOpenAPICommand(t *testing.T) {
	url := pgtest.NewDatabase(t, "CREATE TABLE t (id int, name text)")
	cfg := writeFile(t, "routes.yaml", fmt.Sprintf(`
databases: {main: {url: %q}}
routes:
  - name: one
    path: /t/{id}
    sql: SELECT id, name FROM t WHERE id = $1
    params: [path.id]
`, url))
	out, err := exec.Command(binary(t), "openapi", "--config", cfg).Output()
	if err != nil {
		t.Fatalf("pgfast openapi: %v", err)
	}
	for _, want := range []string{`"openapi": "3.1.0"`, `"/t/{id}"`, `"operationId": "one"`, `"name"`} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("pgfast openapi output lacks %s:\n%s", want, out)
		}
	}
}

// serveProcess runs `pgfast serve` and returns its public and admin base
// URLs once it logs that it is serving.
func serveProcess(t *testing.T, args ...string) (cmd *exec.Cmd, url, admin string, stderr *lockedLog) {
	t.Helper()
	cmd = exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...)...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		pw.Close() // ends the goroutine reading the log
	})
	stderr = newLockedLog()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			stderr.add(sc.Text())
		}
	}()
	_, serving := stderr.waitMsg(t, 0, "pgfast serving", 60*time.Second)
	return cmd, "http://" + serving["addr"].(string), "http://" + serving["admin_addr"].(string), stderr
}

func TestSIGTERMFinishesInFlightRequests(t *testing.T) {
	url := pgtest.NewDatabase(t)
	cfg := writeFile(t, "slow.yaml", fmt.Sprintf(`
databases: {main: {url: %q, max_conns: 40, acquire_timeout: 20s}}
routes:
  - name: slow
    path: /slow/{n}
    sql: SELECT $1::int AS n, pg_sleep(0.4)::text AS slept
    params: [path.n]
`, url))
	cmd, base, admin, logs := serveProcess(t, "--config", cfg)
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	// Connections the server took before the requests (checking the routes
	// at start) are not theirs.
	acquired := metric(t, admin, `pgfast_pool_acquire_total{pool="main"}`)

	const n = 200
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}, Timeout: 60 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(fmt.Sprintf("%s/slow/%d", base, i))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || !strings.Contains(string(b), fmt.Sprintf(`"n":%d`, i)) {
				errs <- fmt.Errorf("request %d: %d %s %v", i, resp.StatusCode, b, err)
			}
		}()
	}
	waitAllArrived(t, admin, acquired, n)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		failed++
		if failed < 5 {
			t.Error(err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d in-flight requests failed across SIGTERM", failed, n)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("pgfast exited with %v; want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("pgfast did not exit within 30s of SIGTERM")
	}
}

func TestConfigFileChangeReloads(t *testing.T) {
	url := pgtest.NewDatabase(t, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)")
	route := func(name string) string {
		return fmt.Sprintf("  - name: %s\n    path: /%s/{id}\n    sql: SELECT id FROM t WHERE id = $1\n    params: [path.id]\n", name, name)
	}
	config := func(routes ...string) []byte {
		return []byte(fmt.Sprintf("databases: {main: {url: %q}}\nroutes:\n", url) + strings.Join(routes, ""))
	}
	cfg := writeFile(t, "live.yaml", string(config(route("a"))))
	rewrite := func(routes ...string) {
		t.Helper()
		if err := os.WriteFile(cfg, config(routes...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd, base, _, logs := serveProcess(t, "--config", cfg)
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor := func(path string, want int) {
		t.Helper()
		poll(t, 10*time.Second, func() (bool, string) {
			got := status(path)
			return got == want, fmt.Sprintf("%s answered %d, not %d,\n%s\n", path, got, want, logs.String())
		})
	}
	if got := status("/a/1"); got != 200 {
		t.Fatalf("got %d; want 200", got)
	}
	// The file changes: route b appears without a restart.
	rewrite(route("a"), route("b"))
	waitFor("/b/1", 200)
	// A broken config is refused; the running one keeps serving. The old
	// routes are checked only once the watch has fired and the reload was
	// refused: before that they would answer the same had it never run.
	from := logs.mark()
	rewrite(route("a"), "  - name: c\n    path: /c\n    sql: SELEKT 1\n")
	changed, _ := logs.waitMsg(t, from, "config file changed: reloading", 10*time.Second)
	_, refused := logs.waitMsg(t, changed+1, "config reload rejected; the previous config keeps serving", 10*time.Second)
	if err, _ := refused["err"].(string); !strings.Contains(err, "SELEKT") {
		t.Fatalf("reload refused with %q; want the error to name the broken statement SELEKT", err)
	}
	if b, c := status("/b/1"), status("/c"); b != 200 || c != 404 {
		t.Fatalf("after a broken config: /b/1 %d, /c %d; want 200, 404", b, c)
	}
	// SIGHUP reloads too.
	rewrite(route("d"))
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("/d/1", 200)
	waitFor("/a/1", 404)
}

func TestBenchCommandFlags(t *testing.T) {
	out, err := exec.Command(binary(t), "bench", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--standalone") || !strings.Contains(string(out), "--baseline") {
		t.Fatalf("bench --help: %v\n%s", err, out)
	}
	out, err = exec.Command(binary(t), "bench", "--tolerance", "lots").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "tolerance") {
		t.Fatalf("bench --tolerance lots: got err=%v\n%s\nwant an error naming the flag", err, out)
	}
	// A target nobody listens on fails fast, with a clear message.
	start := time.Now()
	out, err = exec.Command(binary(t), "bench", "--target", "http://127.0.0.1:1", "--duration", "1s").CombinedOutput()
	if err == nil {
		t.Fatalf("bench against a dead target exited 0:\n%s", out)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("bench against a dead target took %s; want a quick failure", d)
	}
}

// waitAllArrived waits (bounded) until the server has seen all n requests of
// the slow route: each took a connection of pool main (acquires past
// acquired, the count before them) or waits at its gate. A SIGTERM before
// that could catch a request whose bytes were not written yet, which the
// contract does not cover. Both figures count a request once: it leaves
// the gate's waiters before it acquires, and the acquire count never goes
// down. (pgfast_pool_in_use plus the route's finished requests would not:
// a connection still counts in use for a moment after its request is
// counted finished, so that sum can reach n early.)
func waitAllArrived(t *testing.T, admin string, acquired float64, n int) {
	t.Helper()
	poll(t, 30*time.Second, func() (bool, string) {
		seen := metric(t, admin, `pgfast_pool_acquire_total{pool="main"}`) - acquired +
			metric(t, admin, `pgfast_pool_gate_waiting{pool="main"}`)
		return seen >= float64(n), fmt.Sprintf("only %.0f of %d requests reached the server", seen, n)
	})
}

// metric returns the value of one series of the admin listener's /metrics.
func metric(t *testing.T, admin, series string) float64 {
	t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatalf("admin /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin /metrics: status %d, %v", resp.StatusCode, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("admin /metrics: %s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("admin /metrics has no series %s", series)
	return 0
}

// poll calls cond every 20ms until it reports done, and fails the test with
// cond's last description of the state once within has passed.
func poll(t *testing.T, within time.Duration, cond func() (done bool, state string)) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.NewTimer(within)
	defer timeout.Stop()
	for {
		done, state := cond()
		if done {
			return
		}
		select {
		case <-tick.C:
		case <-timeout.C:
			t.Fatalf("%s within %s", state, within)
		}
	}
}

// lockedLog collects a child process's log lines while tests read them, and
// wakes the tests waiting for a line.
type lockedLog struct {
	mu    sync.Mutex
	lines []string
	grew  chan struct{} // closed and replaced by each add
}

func newLockedLog() *lockedLog { return &lockedLog{grew: make(chan struct{})} }

func (l *lockedLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	close(l.grew)
	l.grew = make(chan struct{})
}

// mark is the number of lines so far: pass it to waitMsg to see only the
// lines that come after it.
func (l *lockedLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// waitMsg waits up to within for a JSON line whose msg is msg, among the
// lines from index from on, and returns its index and its fields. It fails
// the test, printing the log, when none comes.
func (l *lockedLog) waitMsg(t *testing.T, from int, msg string, within time.Duration) (int, map[string]any) {
	t.Helper()
	timeout := time.NewTimer(within)
	defer timeout.Stop()
	for {
		l.mu.Lock()
		lines, grew := l.lines, l.grew
		l.mu.Unlock()
		for ; from < len(lines); from++ {
			var m map[string]any
			if json.Unmarshal([]byte(lines[from]), &m) == nil && m["msg"] == msg {
				return from, m
			}
		}
		select {
		case <-grew:
		case <-timeout.C:
			t.Fatalf("pgfast logged no %q within %s:\n%s", msg, within, l.String())
		}
	}
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
