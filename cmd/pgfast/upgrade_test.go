package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// servedProcess is `pgfast serve` with its stdout and stderr on a pipe of
// the test's own (an *os.File, so Wait does not wait for other holders of
// the pipe): a process it starts for an upgrade logs to the same pipe.
type servedProcess struct {
	cmd     *exec.Cmd
	log     *lockedLog
	logDone chan struct{} // closed once every process holding the pipe is gone
	waited  chan error    // cmd.Wait's result, once
}

func startServe(t *testing.T, env []string, args ...string) *servedProcess {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := &servedProcess{cmd: cmd, log: newLockedLog(), logDone: make(chan struct{}), waited: make(chan error, 1)}
	go func() {
		defer close(p.logDone)
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.log.add(sc.Text())
		}
	}()
	go func() { p.waited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

// wait returns the process's exit error, failing when it is still running
// after within.
func (p *servedProcess) wait(within time.Duration) error {
	select {
	case err := <-p.waited:
		p.waited <- err
		return err
	case <-time.After(within):
		return fmt.Errorf("pgfast (pid %d) still running after %s", p.cmd.Process.Pid, within)
	}
}

func (p *servedProcess) logOnFailure(t *testing.T) {
	if t.Failed() {
		t.Log(p.log.String())
	}
}

// gone reports whether pid has exited: no such process, or a zombie that
// nobody reaps (an orphan's reaper may be a PID 1 that does not).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return os.IsNotExist(err)
	}
	// pid (comm) state …: comm may hold spaces, so look after its ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

func upgradeConfig(t *testing.T) string {
	url := pgtest.NewDatabase(t, "CREATE TABLE t (id int, name text); INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 100) g")
	return writeFile(t, "upgrade.yaml", fmt.Sprintf(`
databases: {main: {url: %q}}
routes:
  - name: one
    path: /t/{id}
    sql: SELECT id, name FROM t WHERE id = $1
    params: [path.id]
`, url))
}

func TestUpgradeSIGUSR2UnderLoad(t *testing.T) {
	sock := notifyPath(t)
	sd := listenNotify(t, sock)
	p := startServe(t, []string{"NOTIFY_SOCKET=" + sock}, "--config", upgradeConfig(t))
	defer p.logOnFailure(t)
	_, serving := p.log.waitMsg(t, 0, "pgfast serving", 60*time.Second)
	sd.expect(t, "READY=1", 10*time.Second)
	base := "http://" + serving["addr"].(string)
	oldPID := p.cmd.Process.Pid
	if pid, _ := serving["pid"].(float64); int(pid) != oldPID {
		t.Fatalf("pgfast serving logged pid %v; want %d", serving["pid"], oldPID)
	}

	// 8 clients in a loop, half on keep-alive connections, half opening a
	// connection per request.
	var ok, failed atomic.Int64
	errs := make(chan error, 8)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: i%2 == 1}, Timeout: 20 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer client.CloseIdleConnections()
			for n := i; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id := n%100 + 1
				err := get(client, fmt.Sprintf("%s/t/%d", base, id), fmt.Sprintf(`"id":%d,`, id))
				if err == nil {
					ok.Add(1)
					continue
				}
				failed.Add(1)
				select {
				case errs <- err:
				default:
				}
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopLoad()
	waitOK := func(n int64) {
		t.Helper()
		from := ok.Load()
		poll(t, 30*time.Second, func() (bool, string) {
			return ok.Load()-from >= n, fmt.Sprintf("only %d of %d requests answered (%d failed)", ok.Load()-from, n, failed.Load())
		})
	}
	waitOK(200)

	from := p.log.mark()
	if err := p.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	_, child := p.log.waitMsg(t, from, "pgfast serving", 60*time.Second)
	newPID := int(child["pid"].(float64))
	if newPID == oldPID || newPID == 0 {
		t.Fatalf("after SIGUSR2 pgfast serving logged pid %d; want a new process (the old is %d)", newPID, oldPID)
	}
	t.Cleanup(func() { syscall.Kill(newPID, syscall.SIGKILL) })
	if child["addr"] != serving["addr"] {
		t.Fatalf("the new process serves on %v; want the old one's %v", child["addr"], serving["addr"])
	}
	if err := p.wait(30 * time.Second); err != nil {
		t.Fatalf("the old process exited with %v; want 0", err)
	}
	// systemd hears of the new main process from both, and the handover
	// is not the service stopping.
	mainPID := sdMainPID(newPID)
	seen := sd.expect(t, mainPID, 5*time.Second)
	seen = append(seen, sd.expect(t, mainPID, 5*time.Second)...)
	for _, m := range seen {
		if strings.Contains(m, "STOPPING=1") {
			t.Fatalf("got %q around the upgrade; want no STOPPING=1", seen)
		}
	}
	// Every answer from here on is the new process's.
	waitOK(200)
	stopLoad()
	if n := failed.Load(); n > 0 {
		for len(errs) > 0 {
			t.Error(<-errs)
		}
		t.Fatalf("%d of %d requests failed across the upgrade; want none", n, n+ok.Load())
	}
	t.Logf("%d requests, none failed; pid %d -> %d", ok.Load(), oldPID, newPID)

	if err := syscall.Kill(newPID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sd.expect(t, "STOPPING=1", 10*time.Second)
	select {
	case <-p.logDone: // no process holds the log pipe any more
	case <-time.After(30 * time.Second):
		t.Fatalf("a pgfast process still holds the log 30s after SIGTERM to the new one (pid %d)", newPID)
	}
	poll(t, 10*time.Second, func() (bool, string) {
		return gone(newPID), fmt.Sprintf("pid %d still running", newPID)
	})
	if !strings.Contains(p.log.String(), `"msg":"stopped"`) {
		t.Fatal("no process logged stopped")
	}
}

// get fetches url and checks for a 200 whose body holds want.
func get(client *http.Client, url, want string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(b), want) {
		return fmt.Errorf("GET %s: %d %s %v", url, resp.StatusCode, b, err)
	}
	return nil
}

func TestUpgradeFailureKeepsServing(t *testing.T) {
	cfg := upgradeConfig(t)
	p := startServe(t, nil, "--config", cfg)
	defer p.logOnFailure(t)
	_, serving := p.log.waitMsg(t, 0, "pgfast serving", 60*time.Second)
	base := "http://" + serving["addr"].(string)

	// The new process cannot load this config; the running one refuses the
	// same file on its reload and keeps its routes.
	if err := os.WriteFile(cfg, []byte("server: {addr: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	from := p.log.mark()
	p.cmd.Process.Signal(syscall.SIGUSR2)
	_, failed := p.log.waitMsg(t, from, "upgrade failed; this process keeps serving", 60*time.Second)
	if err, _ := failed["err"].(string); !strings.Contains(err, "exited before it was ready") {
		t.Fatalf("upgrade failed with %q; want it to say the new process exited before it was ready", err)
	}
	if err := get(http.DefaultClient, base+"/t/7", `"id":7,`); err != nil {
		t.Fatalf("after a failed upgrade: %v", err)
	}
	if err := p.wait(0); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("the old process: %v; want it still running", err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(30 * time.Second); err != nil {
		t.Fatalf("pgfast exited with %v; want 0", err)
	}
}
