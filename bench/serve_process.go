package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Standalone mode starts `pgfast serve` the way a zero-downtime upgrade
// starts the next pgfast (cmd/pgfast/upgrade.go): the listening sockets
// bench opened on free ports are inherited descriptors named in
// PGFAST_LISTEN_FDS, and the process writes "ready" to the pipe named in
// PGFAST_UPGRADE_READY_FD once it serves. So bench knows both addresses
// before the process starts, no port is picked twice, and no log line is
// parsed.
const (
	envListenFDs = "PGFAST_LISTEN_FDS"
	envReadyFD   = "PGFAST_UPGRADE_READY_FD"
	readyLine    = "ready\n"

	// serveReadyTimeout bounds how long pgfast may take to load its
	// config, open its pools and prepare every route.
	serveReadyTimeout = 60 * time.Second
	// serveStopTimeout is how long pgfast gets to drain after SIGTERM
	// before it is killed.
	serveStopTimeout = 15 * time.Second
	// serveStderrTail is how much of pgfast's log an error quotes.
	serveStderrTail = 4 << 10
)

// serveProcess is a `pgfast serve` bench started. stop ends it; until then
// it is stopped anyway if bench dies (Pdeathsig on Linux, sysproc_*.go),
// and a terminal's Ctrl-C reaches bench only, which stops it in order.
type serveProcess struct {
	cmd     *exec.Cmd
	dir     string        // holds the config file
	exited  chan struct{} // closed once Wait returned
	err     error         // Wait's result, read after exited
	stderr  *tailWriter
	once    sync.Once
	stopErr error
}

// startServeProcess writes file (a YAML config) to a private temporary
// directory and runs command with --config and that file, handing it ln
// and admin, and returns once it serves. The caller keeps ln and admin and
// may close them: the process has its own copies. On error nothing is left
// running.
func startServeProcess(ctx context.Context, command []string, file []byte, ln, admin net.Listener) (_ *serveProcess, err error) {
	dir, err := os.MkdirTemp("", "pgfast-bench-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a directory for the config: %w", err)
	}
	p := &serveProcess{dir: dir, exited: make(chan struct{}), stderr: &tailWriter{max: serveStderrTail}}
	defer func() {
		if err != nil {
			p.stop()
		}
	}()
	// 0600: the file holds the database URL with its password.
	cfgPath := filepath.Join(dir, "pgfast.yaml")
	if err := os.WriteFile(cfgPath, file, 0o600); err != nil {
		return nil, fmt.Errorf("cannot write the config: %w", err)
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close() // the process has its copies once Start returns
		}
	}()
	for _, l := range []net.Listener{ln, admin} {
		tl, ok := l.(*net.TCPListener)
		if !ok {
			return nil, fmt.Errorf("BUG: cannot hand over a %T", l)
		}
		f, err := tl.File()
		if err != nil {
			return nil, fmt.Errorf("cannot hand over the listener on %s: %w", l.Addr(), err)
		}
		files = append(files, f)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("cannot create the ready pipe: %w", err)
	}
	defer r.Close()
	files = append(files, w)

	exe, err := privateCopy(command[0], dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append(command[1:len(command):len(command)], "--config", cfgPath)...)
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	cmd.ExtraFiles = files // fds 3, 4 and 5
	cmd.Env = append(serveEnv(os.Environ()), envListenFDs+"=public=3,admin=4", envReadyFD+"=5")
	cmd.SysProcAttr = serveSysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", command[0], err)
	}
	p.cmd = cmd
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	for _, f := range files {
		f.Close()
	}
	files = nil // w closed: a process that exits ends the read below

	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		if err == nil && line != readyLine {
			err = fmt.Errorf("unexpected %q on the ready pipe", line)
		}
		ready <- err
	}()
	timer := time.NewTimer(serveReadyTimeout)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err == nil {
			return p, nil
		}
		<-p.exited // the pipe closed: the process is gone or going
		return nil, fmt.Errorf("pgfast exited before it served (%v); its output ends:\n%s", p.err, p.stderr)
	case <-timer.C:
		return nil, fmt.Errorf("pgfast did not serve within %s; its output ends:\n%s", serveReadyTimeout, p.stderr)
	case <-ctx.Done():
		return nil, fmt.Errorf("interrupted while pgfast was starting: %w", ctx.Err())
	}
}

// serveEnv is this process's environment for pgfast, less what would make
// it serve something else than the file it is given (PGFAST_CONFIG,
// PGFAST_ADDR and the other overrides) or talk to this process's
// supervisor (systemd's NOTIFY_SOCKET and watchdog). GOGC, GOMEMLIMIT and
// the like pass: they apply to pgfast as they would in production.
func serveEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "PGFAST_"), name == "NOTIFY_SOCKET", strings.HasPrefix(name, "WATCHDOG_"):
		default:
			out = append(out, kv)
		}
	}
	return out
}

// privateCopy copies the executable named by name (a path, or a name to
// look up in PATH) into dir and returns the copy's path, written through
// to disk and out of the page cache. The process runs from a file of its
// own, as a deployed binary would: the pages of bench's own mapping of the
// same file (large folios its start-up read) would otherwise be what the
// process maps too, and its resident set would depend on bench's.
func privateCopy(name, dir string) (string, error) {
	src, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("cannot find %s: %w", name, err)
	}
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", src, err)
	}
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(src))
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err != nil {
		return "", fmt.Errorf("cannot copy %s: %w", src, err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if err == nil {
		err = dropFromPageCache(out)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("cannot copy %s to %s: %w", src, dst, err)
	}
	return dst, nil
}

func (p *serveProcess) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM (pgfast drains and exits 0), kills the process if it
// is not gone within serveStopTimeout, and removes the config. It returns
// how the process ended when that was not a clean exit; later calls
// return the same.
func (p *serveProcess) stop() error {
	p.once.Do(func() {
		defer os.RemoveAll(p.dir)
		if p.cmd == nil {
			return
		}
		select {
		case <-p.exited:
			p.stopErr = fmt.Errorf("pgfast exited by itself (%v); its output ends:\n%s", p.err, p.stderr)
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		kill := time.NewTimer(serveStopTimeout)
		defer kill.Stop()
		select {
		case <-p.exited:
			if p.err != nil {
				p.stopErr = fmt.Errorf("pgfast did not stop cleanly (%v); its output ends:\n%s", p.err, p.stderr)
			}
		case <-kill.C:
			p.cmd.Process.Kill()
			<-p.exited
			p.stopErr = fmt.Errorf("pgfast killed: not stopped %s after SIGTERM; its output ends:\n%s", serveStopTimeout, p.stderr)
		}
	})
	return p.stopErr
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
