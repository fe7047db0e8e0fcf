package engine

// The access log's writer: a bounded queue of pooled lines per destination
// and one goroutine that writes them, so a slow disk never blocks a request.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Access-log queue and buffer sizes.
const (
	// accessQueueLines bounds the lines waiting for the writer: about
	// 4096 × 200 bytes, under 1 MB, or a second of 4000 requests/s
	// against a disk that stalled.
	accessQueueLines = 4096
	// accessBufSize is the writer's bufio buffer: lines that arrive
	// together go out in one write.
	accessBufSize = 64 << 10
	// maxPooledLine keeps a line built from huge headers out of the pool.
	maxPooledLine = 16 << 10
	// accessCloseWait bounds how long Close waits for the writer to write
	// what is queued; a writer stuck in a Write past it is left to finish
	// on its own (it then closes its file).
	accessCloseWait = 2 * time.Second
	// accessReopenWait bounds ReopenLogs per file.
	accessReopenWait = 2 * time.Second
)

// logLine is one queued line, or (reopen set) the request to reopen the
// file, queued in order with the lines so that every line queued after
// ReopenLogs lands in the new file.
type logLine struct {
	b      []byte
	reopen chan error
}

var linePool = sync.Pool{New: func() any { return &logLine{b: make([]byte, 0, 256)} }}

func getLine() *logLine { return linePool.Get().(*logLine) }

// putLine gives l back; it must not be used afterwards.
func putLine(l *logLine) {
	if cap(l.b) > maxPooledLine {
		return
	}
	l.b, l.reopen = l.b[:0], nil
	linePool.Put(l)
}

// asyncWriter writes lines to an io.Writer from one goroutine, through a
// bounded queue that never blocks the caller. It is safe for concurrent
// use, and after close (lines are then dropped and counted).
type asyncWriter struct {
	path string // the file, reopened on SIGUSR1; "" for a writer given by Options
	ch   chan *logLine
	log  *slog.Logger

	dropped atomic.Uint64 // lines not written: the queue was full, a write failed, or closed
	written atomic.Uint64 // lines handed to the io.Writer
	closed  atomic.Bool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	// Owned by the writer goroutine.
	w       io.Writer
	bw      *bufio.Writer
	pending uint64 // lines in bw since the last flush
	failed  bool   // a write failed; logged once until one succeeds
}

// newAsyncWriter starts a writer of w; path, when set, is the file w
// writes and reopen opens again. queue bounds the lines waiting (0:
// accessQueueLines).
func newAsyncWriter(w io.Writer, path string, queue int, log *slog.Logger) *asyncWriter {
	if queue <= 0 {
		queue = accessQueueLines
	}
	a := &asyncWriter{path: path, ch: make(chan *logLine, queue), log: log, stop: make(chan struct{}), done: make(chan struct{}),
		w: w, bw: bufio.NewWriterSize(w, accessBufSize)}
	go a.run()
	return a
}

// write queues l, or drops and counts it when the queue is full. It never
// blocks; l belongs to the writer afterwards.
func (a *asyncWriter) write(l *logLine) {
	if a.closed.Load() {
		a.dropped.Add(1)
		putLine(l)
		return
	}
	select {
	case a.ch <- l:
	default:
		a.dropped.Add(1)
		putLine(l)
	}
}

func (a *asyncWriter) run() {
	defer close(a.done)
	for {
		select {
		case l := <-a.ch:
			a.handle(l)
			// Take whatever else is queued before flushing: under load,
			// many lines go out in one write.
			for more := true; more; {
				select {
				case l := <-a.ch:
					a.handle(l)
				default:
					more = false
				}
			}
			a.flush()
		case <-a.stop:
			for {
				select {
				case l := <-a.ch:
					a.handle(l)
				default:
					a.flush()
					if c, ok := a.w.(io.Closer); ok && a.path != "" {
						c.Close()
					}
					return
				}
			}
		}
	}
}

func (a *asyncWriter) handle(l *logLine) {
	if l.reopen != nil {
		l.reopen <- a.reopenFile()
		return // the requester owns a reopen marker
	}
	if _, err := a.bw.Write(l.b); err != nil {
		a.writeFailed(err)
	} else {
		a.pending++
	}
	putLine(l)
}

// flush writes the buffered lines; on error they count as dropped.
func (a *asyncWriter) flush() {
	if a.pending == 0 && a.bw.Buffered() == 0 {
		return
	}
	if err := a.bw.Flush(); err != nil {
		a.writeFailed(err)
		return
	}
	a.written.Add(a.pending)
	a.pending = 0
	a.failed = false
}

// writeFailed counts the buffered lines as dropped and resets the buffer:
// a bufio.Writer refuses every write after its first error, and a full
// disk may recover.
func (a *asyncWriter) writeFailed(err error) {
	a.dropped.Add(a.pending + 1)
	a.pending = 0
	a.bw.Reset(a.w)
	if !a.failed {
		a.failed = true
		a.log.Error("cannot write the access log; lines are dropped and counted in pgfast_log_dropped_total", "file", a.path, "err", err)
	}
}

// reopenFile flushes, closes the file and opens its path again (logrotate
// renamed it).
func (a *asyncWriter) reopenFile() error {
	if a.path == "" {
		return nil
	}
	a.flush()
	f, err := openLogFile(a.path)
	if err != nil {
		return err
	}
	if c, ok := a.w.(io.Closer); ok {
		c.Close()
	}
	a.w = f
	a.bw.Reset(f)
	return nil
}

// reopen asks the writer to reopen its file, behind the lines already
// queued, and waits for it (bounded).
func (a *asyncWriter) reopen() error {
	if a.path == "" || a.closed.Load() {
		return nil
	}
	l := &logLine{reopen: make(chan error, 1)}
	t := time.NewTimer(accessReopenWait)
	defer t.Stop()
	select {
	case a.ch <- l:
	case <-t.C:
		return fmt.Errorf("cannot reopen access log %s: the writer is stuck (queue full for %s)", a.path, accessReopenWait)
	case <-a.done:
		return nil
	}
	select {
	case err := <-l.reopen:
		if err != nil {
			return fmt.Errorf("cannot reopen access log: %w", err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("cannot reopen access log %s: the writer is stuck for %s", a.path, accessReopenWait)
	}
}

// close stops the writer: what is queued is written, then the file is
// closed. It waits up to wait; a writer stuck in a Write past it finishes
// on its own. Idempotent.
func (a *asyncWriter) close(wait time.Duration) {
	a.once.Do(func() {
		a.closed.Store(true)
		close(a.stop)
	})
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-a.done:
	case <-t.C:
		a.log.Warn("access log writer did not finish within its close bound; lines still queued may be lost", "file", a.path, "wait", wait.String())
	}
}

func openLogFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
}

// accessLogs are the engine's access-log writers by destination, kept
// across reloads: a reload that keeps log.access.file keeps its writer
// (and its queue). A file a reload stops naming stays open until Close;
// destinations are few.
type accessLogs struct {
	// out is the destination of log.access without a file
	// (Options.AccessWriter, default stderr).
	out   io.Writer
	log   *slog.Logger
	queue int // lines per writer; 0: accessQueueLines

	mu     sync.Mutex
	ws     map[string]*asyncWriter // by file; "" for out
	closed bool
}

// writer returns the writer of path ("" for out), starting it on first use.
func (al *accessLogs) writer(path string) (*asyncWriter, error) {
	al.mu.Lock()
	defer al.mu.Unlock()
	if al.closed {
		return nil, errors.New("engine: closed")
	}
	if w := al.ws[path]; w != nil {
		return w, nil
	}
	var out io.Writer
	if path == "" {
		out = al.out
		if out == nil {
			out = os.Stderr
		}
	} else {
		f, err := openLogFile(path)
		if err != nil {
			return nil, fmt.Errorf("cannot open access log %s: %w", path, err)
		}
		out = f
	}
	lg := al.log
	if lg == nil {
		lg = slog.Default()
	}
	w := newAsyncWriter(out, path, al.queue, lg)
	if al.ws == nil {
		al.ws = make(map[string]*asyncWriter)
	}
	al.ws[path] = w
	return w, nil
}

func (al *accessLogs) list() []*asyncWriter {
	al.mu.Lock()
	defer al.mu.Unlock()
	ws := make([]*asyncWriter, 0, len(al.ws))
	for _, w := range al.ws {
		ws = append(ws, w)
	}
	return ws
}

// reopen reopens every access-log file (SIGUSR1, for logrotate).
func (al *accessLogs) reopen() error {
	var errs []error
	for _, w := range al.list() {
		if err := w.reopen(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// close stops every writer, writing what is queued (bounded in all by
// accessCloseWait).
func (al *accessLogs) close() {
	al.mu.Lock()
	al.closed = true
	al.mu.Unlock()
	deadline := time.Now().Add(accessCloseWait)
	for _, w := range al.list() {
		w.close(max(time.Until(deadline), time.Millisecond))
	}
}

// LogStats are the access log's counters (in /admin/stats).
type LogStats struct {
	// AccessLines are the lines written; AccessDropped those lost: the
	// queue was full (a slow disk), a write failed, or the engine closed.
	AccessLines   uint64 `json:"access_lines"`
	AccessDropped uint64 `json:"access_dropped"`
}

func (al *accessLogs) stats() LogStats {
	var s LogStats
	for _, w := range al.list() {
		s.AccessLines += w.written.Load()
		s.AccessDropped += w.dropped.Load()
	}
	return s
}

// ReopenLogs reopens the access-log files, for logrotate (SIGUSR1): lines
// queued after it returns go to a file created at the configured path.
func (e *Engine) ReopenLogs() error { return e.access.reopen() }
