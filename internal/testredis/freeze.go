package testredis

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Freezable forwards TCP to a real Redis until Freeze; then it behaves
// like a Redis stopped with SIGSTOP: connections are accepted and requests
// read, but nothing is ever answered. It closes when the test ends.
type Freezable struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

// StartFreezable starts a proxy to the Redis at target (host:port).
func StartFreezable(t testing.TB, target string) *Freezable {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Freezable{ln: ln, target: target, stop: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is a redis:// URL of the proxy.
func (p *Freezable) URL() string { return "redis://" + p.ln.Addr().String() + "/0" }

// Freeze makes the proxy stop answering, on open and new connections.
func (p *Freezable) Freeze() { p.frozen.Store(true) }

func (p *Freezable) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stop:
		c.Close()
		return false
	default:
		p.conns = append(p.conns, c)
		return true
	}
}

func (p *Freezable) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil || !p.track(c) {
			return
		}
		if p.frozen.Load() {
			p.wg.Add(1)
			go p.pipe(io.Discard, c)
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(up) {
			return
		}
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst; once frozen it forwards nothing and holds the
// connection open until the proxy closes.
func (p *Freezable) pipe(dst io.Writer, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if p.frozen.Load() {
				<-p.stop
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Freezable) close() {
	p.mu.Lock()
	select {
	case <-p.stop:
		p.mu.Unlock()
		return
	default:
	}
	close(p.stop)
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
