package engine

import (
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// disconnectPoll is how often a running query checks whether its client
// is still there. The first check waits this long too, so fast queries
// never start the watcher.
const disconnectPoll = 100 * time.Millisecond

// watchDisconnect cancels a query whose client hung up, so that slow
// queries from clients that left do not hold connections (a known way to
// exhaust a pool is to send slow queries and disconnect). fasthttp does not
// read the socket while the handler runs, so the watcher peeks at it: a
// readable socket with zero bytes pending is a closed one. Bytes of a
// pipelined next request are left in place (MSG_PEEK). It returns the
// function that stops the watcher.
func watchDisconnect(ctx *fasthttp.RequestCtx, cancel func()) (stop func()) {
	sc, ok := ctx.Conn().(syscall.Conn)
	if !ok {
		return func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	done := make(chan struct{})
	var once sync.Once
	var check func()
	var timer *time.Timer
	var mu sync.Mutex
	check = func() {
		select {
		case <-done:
			return
		default:
		}
		gone := false
		var buf [1]byte
		_ = rc.Read(func(fd uintptr) bool {
			n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			gone = n == 0 && err == nil || err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
			return true
		})
		if gone {
			cancel()
			return
		}
		mu.Lock()
		timer.Reset(disconnectPoll)
		mu.Unlock()
	}
	mu.Lock()
	timer = time.AfterFunc(disconnectPoll, check)
	mu.Unlock()
	return func() {
		once.Do(func() {
			close(done)
			mu.Lock()
			timer.Stop()
			mu.Unlock()
		})
	}
}
