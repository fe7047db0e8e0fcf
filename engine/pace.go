package engine

import (
	"crypto/tls"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// pacePoll is how often a streamed response checks its client's pace.
const pacePoll = 250 * time.Millisecond

// paceGrace is the start of a response during which no pace is required:
// TCP slow start and the client's own start-up are not slowness.
const paceGrace = time.Second

// paceWatch enforces server.stream_min_rate on one streamed response:
// after the first second, the client must have taken rate bytes per second
// on average. "Taken" is what the client's TCP stack acknowledged: bytes
// written minus those still in our socket's send queue. Counting only
// what write() accepted would let the kernel's send buffer, which Linux
// grows up to tcp_wmem's maximum (4 MiB by default), hide a stalled client
// for a minute at 64 KiB/s. Time the writer spends waiting for rows from
// PostgreSQL is not the client's and is left out.
//
// A timer checks every pacePoll; a client found too slow gets a write
// deadline in the past, which fails the write in progress (or the next
// one) and makes fasthttp close the connection, with a reset so that what
// the kernel still holds for the client is dropped too.
type paceWatch struct {
	rctx *fasthttp.RequestCtx
	raw  syscall.RawConn // nil when the connection has no socket (in-memory)
	rate int64

	mu        sync.Mutex
	start     time.Time
	waited    time.Duration // spent waiting for the producer, finished waits
	waitStart time.Time     // when the current wait began; zero when writing
	sent      int64         // bytes the writer handed to the connection
	taken     int64         // sent minus the send queue, at the last check
	cut       bool
	stopped   bool
	timer     *time.Timer
}

// watchPace starts checking the client's pace; stop ends it.
func watchPace(rctx *fasthttp.RequestCtx, rate int64) *paceWatch {
	p := &paceWatch{rctx: rctx, raw: rawConn(rctx.Conn()), rate: rate, start: time.Now()}
	p.mu.Lock()
	p.timer = time.AfterFunc(pacePoll, p.check)
	p.mu.Unlock()
	return p
}

// rawConn finds the socket under a connection (through TLS and pgfast's
// connection-limit wrapper), or nil.
func rawConn(c net.Conn) syscall.RawConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// waiting and writing bracket the writer's waits for the producer.
func (p *paceWatch) waiting() {
	p.mu.Lock()
	p.waitStart = time.Now()
	p.mu.Unlock()
}

func (p *paceWatch) writing() {
	p.mu.Lock()
	p.waited += time.Since(p.waitStart)
	p.waitStart = time.Time{}
	p.mu.Unlock()
}

func (p *paceWatch) wrote(n int) {
	p.mu.Lock()
	p.sent += int64(n)
	p.mu.Unlock()
}

func (p *paceWatch) check() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	now := time.Now()
	client := now.Sub(p.start) - p.waited
	if !p.waitStart.IsZero() {
		client -= now.Sub(p.waitStart)
	}
	if client > paceGrace {
		p.taken = p.sent - sendQueue(p.raw)
		if float64(p.taken) < float64(p.rate)*client.Seconds() {
			p.cut = true
			resetOnClose(p.raw)
			// A refused deadline (the connection is gone) needs nothing more.
			_ = p.rctx.SetWriteDeadline(time.Unix(1, 0))
			return
		}
	}
	p.timer.Reset(pacePoll)
}

// stop ends the checks; no check runs after it returns. It reports whether
// the client was cut for its pace.
func (p *paceWatch) stop() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.timer.Stop()
	return p.cut
}
