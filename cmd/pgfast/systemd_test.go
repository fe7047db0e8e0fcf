package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// notifySocket is a stand-in for systemd's notification socket: it
// collects the datagrams pgfast sends.
type notifySocket struct {
	msgs chan string
}

func listenNotify(t *testing.T, name string) *notifySocket {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &notifySocket{msgs: make(chan string, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(s.msgs)
				return
			}
			s.msgs <- string(buf[:n])
		}
	}()
	return s
}

// drain drops the datagrams received so far.
func (s *notifySocket) drain() {
	for {
		select {
		case <-s.msgs:
		default:
			return
		}
	}
}

// expect waits up to within for a datagram holding the line want, and
// returns the datagrams before it.
func (s *notifySocket) expect(t *testing.T, want string, within time.Duration) []string {
	t.Helper()
	timeout := time.NewTimer(within)
	defer timeout.Stop()
	var seen []string
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				t.Fatalf("notify socket closed; got %q, want %s", seen, want)
			}
			for _, line := range strings.Split(m, "\n") {
				if line == want {
					return seen
				}
			}
			seen = append(seen, m)
		case <-timeout.C:
			t.Fatalf("no %s within %s; got %q", want, within, seen)
		}
	}
}

// notifyPath returns a path for a notify socket: in a short directory, as
// a socket path has to fit in 108 bytes.
func notifyPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgfast-sd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "notify")
}

func TestSystemdNotify(t *testing.T) {
	url := pgtest.NewDatabase(t)
	sock := notifyPath(t)
	sd := listenNotify(t, sock)

	p := startServe(t, []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=200000"}, "--database-url", url)
	defer p.logOnFailure(t)
	sd.expect(t, "READY=1", 60*time.Second)
	// READY=1 comes once the listeners are up.
	_, serving := p.log.waitMsg(t, 0, "pgfast serving", 5*time.Second)
	resp, err := http.Get("http://" + serving["addr"].(string) + "/ping")
	if err != nil {
		t.Fatalf("after READY=1: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after READY=1: /ping answered %d; want 200", resp.StatusCode)
	}

	// WATCHDOG_USEC/2 = 100ms between pings (those already queued are
	// not counted).
	sd.drain()
	start := time.Now()
	for i := 0; i < 3; i++ {
		sd.expect(t, "WATCHDOG=1", 2*time.Second)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("3 watchdog pings in %s; want them about 100ms apart", d)
	}

	p.cmd.Process.Signal(syscall.SIGHUP)
	sd.expect(t, "RELOADING=1", 10*time.Second)
	sd.expect(t, "READY=1", 10*time.Second)

	p.cmd.Process.Signal(syscall.SIGTERM)
	sd.expect(t, "STOPPING=1", 10*time.Second)
	if err := p.wait(30 * time.Second); err != nil {
		t.Fatalf("pgfast exited with %v; want 0", err)
	}
}

func TestNotifyAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("@pgfast-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	sd := listenNotify(t, name)
	t.Setenv("NOTIFY_SOCKET", name)
	if err := sdNotify(sdMainPID(42) + "\n" + sdReady); err != nil {
		t.Fatal(err)
	}
	if seen := sd.expect(t, "MAINPID=42", time.Second); len(seen) != 0 {
		t.Fatalf("got %q before MAINPID=42", seen)
	}

	t.Setenv("NOTIFY_SOCKET", "")
	if err := sdNotify(sdReady); err != nil {
		t.Fatalf("without NOTIFY_SOCKET: got %v; want nil", err)
	}
	t.Setenv("NOTIFY_SOCKET", "vsock:2:1234")
	if err := sdNotify(sdReady); err == nil || !strings.Contains(err.Error(), "NOTIFY_SOCKET") {
		t.Fatalf("NOTIFY_SOCKET=vsock:…: got %v; want an error naming NOTIFY_SOCKET", err)
	}
}

func TestNotifyWatchdogInterval(t *testing.T) {
	f := func(usec, pid string, want time.Duration) {
		t.Helper()
		t.Setenv("WATCHDOG_USEC", usec)
		t.Setenv("WATCHDOG_PID", pid)
		if got := sdWatchdogInterval(); got != want {
			t.Fatalf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: got %s; want %s", usec, pid, got, want)
		}
	}
	self := fmt.Sprint(os.Getpid())
	f("", "", 0)
	f("200000", "", 100*time.Millisecond)
	f("30000000", self, 15*time.Second)
	f("30000000", "1", 0) // meant for another process
	f("-5", "", 0)
	f("lots", "", 0)
}
