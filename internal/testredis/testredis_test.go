package testredis

import (
	"net"
	"strings"
	"testing"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("PING after Start: got %v; want nil", err)
	}
	if got, want := s.URL(), "redis://"+s.Addr()+"/0"; got != want {
		t.Fatalf("URL: got %q; want %q", got, want)
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr: got %q; want 127.0.0.1:PORT", s.Addr())
	}
	addr := s.Addr()

	s.Stop()
	s.Stop() // idempotent
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("dial %s after Stop: got a connection; want refused", addr)
	}

	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Addr after Restart: got %q; want %q", s.Addr(), addr)
	}
	if err := ping(addr); err != nil {
		t.Fatalf("PING after Restart: got %v; want nil", err)
	}
	s.Restart() // restarting a running server is allowed too
	if err := ping(addr); err != nil {
		t.Fatalf("PING after second Restart: got %v; want nil", err)
	}
}

func TestTwoServersAreIndependent(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers share %s; want distinct ports", a.Addr())
	}
	a.Stop()
	if err := ping(b.Addr()); err != nil {
		t.Fatalf("PING b after stopping a: got %v; want nil", err)
	}
}
