package engine

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// rowSource is a result being read for a streamed body (a *sqlexec.Rows
// of a large route or /v1/query result). Both methods run on the producer
// goroutine only.
type rowSource interface {
	// Fill appends encoded rows to dst until it holds at least limit bytes
	// or the result ends (done).
	Fill(dst []byte, limit int) (out []byte, done bool, err error)
	// Release ends the source once, after the last Fill: it stops a
	// statement still running, returns the connection and records the
	// outcome (err nil for a complete result).
	Release(err error)
}

// errClientGone is what a statement stopped for its client is recorded as.
var errClientGone = errors.New("client went away before the result was sent")

// streamWrite caps one write (one HTTP chunk) to the client, so a large
// first buffer is not one long write.
const streamWrite = 64 << 10

// streamBody is the body stream of a large result. A producer goroutine
// reads the rows into a spool at the database's pace; fasthttp pulls the
// body through WriteTo on the connection's goroutine after the handler
// returned, at the client's pace, and calls Close when the response is
// written or the connection failed. An error after the status went out is
// returned from WriteTo, which makes fasthttp drop the connection before
// the final chunk: the client sees a truncated body, never a
// complete-looking one (STYLE §16).
type streamBody struct {
	e    *Engine
	sp   *spool
	rctx *fasthttp.RequestCtx // for write deadlines; valid until Close
	kind string               // "route" or "account", for logs
	name string

	minRate int64 // server.stream_min_rate in bytes/s; 0 = off

	stop   func()        // cancels the producer's statement
	done   chan struct{} // closed when the producer has exited
	gone   atomic.Bool   // Close stopped the producer early
	closed bool
	rd     []byte // Read's unread bytes
}

// startStream makes the rest of src the response body: head holds the
// rows the handler encoded already. It starts the producer, which Close
// stops and waits for.
func (e *Engine) startStream(r *request, head []byte, src rowSource, stop func(), kind, name string) error {
	cfg := &e.cfg().Server
	b := &streamBody{
		e: e, sp: newSpool(&e.inflight, int64(cfg.MaxInflightResponseBytes), &e.spilled, int64(cfg.MaxSpillBytes), &e.streamCounters),
		rctx: r.ctx, kind: kind, name: name,
		minRate: int64(cfg.StreamMinRate),
		stop:    stop, done: make(chan struct{}),
	}
	if err := b.sp.start(head); err != nil {
		src.Release(err)
		b.sp.close()
		return err
	}
	go b.produce(src)
	r.ctx.Response.SetBodyStream(b, -1)
	return nil
}

// produce reads the whole result into the spool, never waiting for the
// client, and gives the connection back as soon as the result is read.
func (b *streamBody) produce(src rowSource) {
	buf := getChunk()
	released := false
	var err error
	defer func() {
		// This runs outside any handler's panic recovery.
		if v := recover(); v != nil {
			err = fmt.Errorf("BUG: panic while reading a streamed result: %v", v)
			b.e.log.Error(err.Error(), b.kind, b.name)
		}
		if !released {
			src.Release(b.outcome(err))
		}
		putChunk(buf)
		b.sp.finish(err)
		close(b.done)
	}()
	for {
		var done bool
		buf, done, err = src.Fill(buf, spoolChunk)
		if done || err != nil {
			// The result is read (or failed): the connection goes back
			// now, before the last bytes are even queued.
			released = true
			src.Release(b.outcome(err))
		}
		if err == nil {
			buf, err = b.sp.push(buf)
		}
		if err != nil || done {
			return
		}
	}
}

// outcome is how a statement's end is recorded: a statement stopped
// because its client went away says so.
func (b *streamBody) outcome(err error) error {
	if err != nil && b.gone.Load() {
		return errClientGone
	}
	return err
}

// SupportsBodyWriteTo tells fasthttp to call WriteTo with its chunked
// writer: each write is one chunk, 64 KiB rather than fasthttp's 4 KiB.
func (b *streamBody) SupportsBodyWriteTo() bool { return true }

// WriteTo writes the body to the client as the spool yields it, cutting a
// client that reads slower than server.stream_min_rate.
func (b *streamBody) WriteTo(w io.Writer) (written int64, err error) {
	var pw *paceWatch
	if b.minRate > 0 {
		pw = watchPace(b.rctx, b.minRate)
	}
	defer func() {
		// This runs after the handler, outside its panic recovery.
		if v := recover(); v != nil {
			err = fmt.Errorf("BUG: panic while writing a streamed result: %v", v)
			b.e.log.Error(err.Error(), b.kind, b.name)
		}
		if pw != nil && pw.stop() {
			b.cutSlow(pw)
			if err == nil {
				err = errTooSlow
			}
		}
	}()
	for {
		if pw != nil {
			pw.waiting()
		}
		data, err := b.sp.next()
		if pw != nil {
			pw.writing()
		}
		if err == io.EOF {
			return written, nil
		}
		if err != nil {
			b.e.log.Warn("result failed mid-stream; closing the connection", b.kind, b.name, "err", err)
			return written, err
		}
		for len(data) > 0 {
			n, err := w.Write(data[:min(len(data), streamWrite)])
			written += int64(n)
			if pw != nil {
				pw.wrote(n)
			}
			if err != nil {
				return written, err
			}
			data = data[n:]
		}
	}
}

// errTooSlow ends the response of a client cut for its pace.
var errTooSlow = errors.New("client reads slower than server.stream_min_rate")

// cutSlow counts and logs a client cut for its pace.
func (b *streamBody) cutSlow(pw *paceWatch) {
	b.e.streamCounters.cut.Add(1)
	b.e.log.Warn("client reads slower than server.stream_min_rate; closing the connection",
		b.kind, b.name, "remote", b.rctx.RemoteIP().String(), "taken_bytes", pw.taken,
		"seconds", time.Since(pw.start).Seconds(), "min_rate", pw.rate)
}

// Read is the plain io.Reader view of the body, for callers that do not
// use WriteTo; it does not check the client's pace.
func (b *streamBody) Read(p []byte) (int, error) {
	for len(b.rd) == 0 {
		var err error
		if b.rd, err = b.sp.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.rd)
	b.rd = b.rd[n:]
	return n, nil
}

// Close ends the response: it stops the producer if the result is still
// being read (the client went away or was cut), waits for it, and frees
// the spool. fasthttp calls it once the body is written or has failed.
func (b *streamBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	select {
	case <-b.done:
	default:
		b.gone.Store(true)
		b.stop()
		<-b.done
	}
	b.sp.close()
	b.rd, b.rctx = nil, nil
	return nil
}
