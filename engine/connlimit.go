package engine

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// server.max_conns is enforced here, on the listener, rather than by
// fasthttp's Concurrency: past its limit fasthttp answers a text/plain 503
// and offers no hook, while DESIGN §4 promises the JSON error shape with
// Retry-After on every answer. fasthttp's own limit is set above ours
// (newServer) so that it never answers first.

// rejectTimeout bounds the answer to a connection past server.max_conns:
// the TLS handshake, the write and the lingering read.
const rejectTimeout = time.Second

// maxRejecting bounds the goroutines answering refused connections; past
// it a refused connection is closed without an answer, so a flood of
// connections costs no more than the limit it hits.
const maxRejecting = 64

// connLimiter is the public listener: it counts open connections against
// server.max_conns (Engine.conns) and answers one past it with a JSON 503.
type connLimiter struct {
	net.Listener
	e      *Engine
	max    int64
	tls    *tls.Config // the certificate to answer TLS clients with; nil for plain HTTP
	answer []byte      // the whole 503 response

	mu        sync.Mutex
	closed    bool
	rejecting int
	wg        sync.WaitGroup
}

func newConnLimiter(e *Engine, ln net.Listener, max int, tc *tls.Config) *connLimiter {
	body := appendErrorBody(nil, &Error{Code: codeUnavailable,
		Message: fmt.Sprintf("the server has %d connections open (server.max_conns); retry shortly", max)})
	answer := []byte("HTTP/1.1 503 Service Unavailable\r\nServer: pgfast\r\nContent-Type: application/json\r\n" +
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	return &connLimiter{Listener: ln, e: e, max: int64(max), tls: tc, answer: append(answer, body...)}
}

// Accept returns the next connection within the limit, answering and
// closing those past it.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.e.conns.Add(1) <= l.max {
			return &limitedConn{Conn: c, open: &l.e.conns}, nil
		}
		l.e.conns.Add(-1)
		l.e.streamCounters.connsOver.Add(1)
		l.reject(c)
	}
}

// reject answers c with the 503 on a goroutine of its own, so a client
// that does not read cannot stall the accept loop.
func (l *connLimiter) reject(c net.Conn) {
	l.mu.Lock()
	if l.closed || l.rejecting >= maxRejecting {
		l.mu.Unlock()
		c.Close()
		return
	}
	l.rejecting++
	l.wg.Add(1)
	l.mu.Unlock()
	go func() {
		defer func() {
			l.mu.Lock()
			l.rejecting--
			l.mu.Unlock()
			l.wg.Done()
		}()
		_ = c.SetDeadline(time.Now().Add(rejectTimeout))
		w := c
		if l.tls != nil {
			w = tls.Server(c, l.tls)
		}
		if _, err := w.Write(l.answer); err == nil {
			lingerClose(c, w)
		}
		w.Close()
	}()
}

// lingerClose half-closes and reads what the client sent until it closes
// (or rejectTimeout): closing a socket with unread request bytes would
// send a reset that can destroy the answer before the client reads it.
func lingerClose(c, w net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := w.(closeWriter); ok {
		_ = cw.CloseWrite()
	} else if cw, ok := c.(closeWriter); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(w, 64<<10))
}

// Close stops accepting and waits for the answers still being written
// (at most rejectTimeout), so no goroutine outlives the listener.
func (l *connLimiter) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

// limitedConn gives its place under server.max_conns back when closed.
type limitedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *limitedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

var errNoSocket = errors.New("engine: connection has no socket")

// SyscallConn exposes the socket underneath, for the disconnect watcher
// and the stream pace check.
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoSocket
}
