package sqlexec

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/rowcodec"
)

// cancelRequestCode opens a CancelRequest packet (protocol: length 16, then
// this code, the backend's pid and secret key).
const cancelRequestCode = 80877102

// cancelSwallower is a TCP proxy in front of PostgreSQL that forwards
// every connection but the CancelRequest ones: those it reads and then
// holds open without an answer, as a postmaster that never got the packet
// would look to the client.
type cancelSwallower struct {
	ln      net.Listener
	target  string
	swallow atomic.Int64 // CancelRequests held
	mu      sync.Mutex
	conns   []net.Conn
}

func newCancelSwallower(t *testing.T, target string) *cancelSwallower {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cancelSwallower{ln: ln, target: target}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.track(c)
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c, &wg) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	return p
}

func (p *cancelSwallower) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *cancelSwallower) serve(c net.Conn, wg *sync.WaitGroup) {
	var head [8]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		return
	}
	if binary.BigEndian.Uint32(head[4:]) == cancelRequestCode {
		p.swallow.Add(1)
		_, _ = io.Copy(io.Discard, c) // hold it until the client or Cleanup closes it
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.track(up)
	if _, err := up.Write(head[:]); err != nil {
		return
	}
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// TestUnacknowledgedCancelClosesTheConnection: a result released before
// its end is cancelled on the server; when that CancelRequest is not
// acknowledged it may still arrive later and stop the next statement on
// the connection, another request's, so the connection is closed instead
// of reused. (The select-list generate_series streams its rows: the
// statement is still running when it is released.)
func TestUnacknowledgedCancelClosesTheConnection(t *testing.T) {
	u, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCancelSwallower(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	p, err := pool.New(context.Background(), pool.Options{Name: "test", URL: u.String(), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	db := &DB{Name: "test", Pool: p, Types: rowcodec.NewTypes()}
	ctx := context.Background()

	backend := func() string {
		t.Helper()
		x, err := db.Query(ctx, "SELECT pg_backend_pid()", nil, Encoding{Shape: Value})
		if err != nil {
			t.Fatal(err)
		}
		body, _, err := x.Fill(nil, 0)
		x.Release(err)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	first := backend()

	x, err := db.Query(ctx, "SELECT generate_series(1, 10000000)", nil, Encoding{Shape: Set})
	if err != nil {
		t.Fatal(err)
	}
	x.Release(nil) // its first row read ahead, the rest not: cancelled
	if n := proxy.swallow.Load(); n != 1 {
		t.Fatalf("%d CancelRequests reached the proxy; want 1", n)
	}
	if again := backend(); again == first {
		t.Errorf("backend %s reused after an unacknowledged cancel; want a new connection", again)
	}
}
