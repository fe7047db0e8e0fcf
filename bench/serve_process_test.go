package bench

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func listenPair(t *testing.T) (net.Listener, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); aln.Close() })
	return ln, aln
}

// A pgfast that exits before it serves is reported with the end of its
// output; one that does not serve before ctx ends is stopped; either way
// nothing is left running.
func TestStartServeProcessFails(t *testing.T) {
	ln, aln := listenPair(t)
	_, err := startServeProcess(context.Background(), []string{"/bin/sh", "-c", "echo cannot load config >&2; exit 3", "sh"}, []byte("x: 1\n"), ln, aln)
	if err == nil || !strings.Contains(err.Error(), "exited before it served") || !strings.Contains(err.Error(), "cannot load config") {
		t.Fatalf("got %v; want the exit and the process's output", err)
	}

	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = startServeProcess(ctx, []string{"/bin/sh", "-c", "echo $$ > " + pidFile + "; exec sleep 60", "sh"}, []byte("x: 1\n"), ln, aln)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want the context's error", err)
	}
	b, rerr := os.ReadFile(pidFile)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if rerr != nil || perr != nil {
		t.Fatalf("cannot read the process's pid: %v %v", rerr, perr)
	}
	if !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("process %d still runs after a failed start", pid)
	}
}

// A process that signals ready is handed the listeners and the config, and
// stop ends it with SIGTERM.
func TestStartServeProcessReady(t *testing.T) {
	ln, aln := listenPair(t)
	script := `test "$PGFAST_LISTEN_FDS" = public=3,admin=4 && test -r "$2" && grep -q served "$2" || exit 9
trap 'exit 0' TERM
echo ready >&5
while :; do sleep 0.05; done`
	p, err := startServeProcess(context.Background(), []string{"/bin/sh", "-c", script, "sh"}, []byte("served: yes\n"), ln, aln)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Stat(p.dir); !os.IsNotExist(err) {
		t.Fatalf("config directory %s left after stop: %v", p.dir, err)
	}
}

func TestServeEnv(t *testing.T) {
	got := serveEnv([]string{"PATH=/bin", "PGFAST_CONFIG=/etc/x.yaml", "PGFAST_ADDR=:1", "NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=1", "GOGC=50", "HOME=/root"})
	if want := []string{"PATH=/bin", "GOGC=50", "HOME=/root"}; !slices.Equal(got, want) {
		t.Fatalf("serveEnv: got %q; want %q", got, want)
	}
}
