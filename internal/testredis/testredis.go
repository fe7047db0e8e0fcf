// Package testredis starts a throwaway redis-server for one test: on a free
// 127.0.0.1 port, without persistence, in the test's temporary directory,
// stopped when the test ends. Tests that need Redis never share a server and
// never use a fixed port (DESIGN.md §2).
package testredis

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pgfast/pgfast/internal/testproc"
)

// startTimeout bounds how long Start and Restart wait for the first PONG.
// redis-server answers within milliseconds; the margin is for loaded CI hosts.
const startTimeout = 10 * time.Second

// Server is a running (or stopped) redis-server owned by one test.
// Its methods are safe for concurrent use.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	port int

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	log     *testproc.LockedBuffer
}

// Start starts a redis-server for tb and registers Stop with tb.Cleanup.
// It fails the test (it does not skip it) when redis-server is not installed:
// `make deps` installs it.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("testredis: redis-server is not on PATH (%v); run `make deps` to install it", err)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir()}
	tb.Cleanup(s.Stop)
	// The free port is found by binding :0 and releasing it, so another
	// process may take it before redis-server binds; retry with a new one.
	for attempt := 0; ; attempt++ {
		port, err := testproc.FreePort()
		if err != nil {
			tb.Fatalf("testredis: %v", err)
		}
		s.port = port
		err = s.start()
		if err == nil {
			return s
		}
		if attempt == 2 {
			tb.Fatalf("testredis: %v", err)
		}
	}
}

// Addr returns "127.0.0.1:PORT"; it stays the same across Restart.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns "redis://127.0.0.1:PORT/0", the form limits.redis_url takes.
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Stop kills the server and waits for it to exit. It is idempotent and is
// called automatically when the test ends. Data is lost (there is no
// persistence), as in a real crash of a cache-only Redis.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart starts the server again on the same port, stopping it first if it
// is running, and waits until it answers PING. It is meant for outage tests:
// clients configured with Addr or URL reach the new process unchanged.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	// The old listener is closed once the process has exited, but the port
	// may take a moment to be bindable again: retry briefly.
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("testredis: cannot restart on %s: %v", s.Addr(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// start launches redis-server on s.port and waits for PONG.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	log := &testproc.LockedBuffer{}
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "",
	)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start redis-server: %w", err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited, s.log = cmd, exited, log
	go func() {
		err := cmd.Wait()
		s.exitErr = err
		close(exited)
	}()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("redis-server exited during start (%v):\n%s", s.exitErr, log.String())
		default:
		}
		if ping(s.Addr()) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("redis-server did not answer PING within %s:\n%s", startTimeout, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ping sends an inline PING and expects +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected PING reply %q", line)
	}
	return nil
}
