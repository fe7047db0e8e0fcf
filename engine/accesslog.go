package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/config"
)

// The access log (log.access, DESIGN §7): one line per request, built in
// the handler into a pooled buffer and handed to an asyncWriter, whose one
// goroutine writes it. A request never waits for the disk: when the
// writer's queue is full the line is dropped and counted
// (pgfast_log_dropped_total), never silently lost.

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

var descLogDropped = prometheus.NewDesc("pgfast_log_dropped_total",
	"Log lines dropped: the writer's queue was full (a slow disk), a write failed, or the engine closed.", []string{"log"}, nil)

// logCollector renders the access log's drop counter.
type logCollector struct{ e *Engine }

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descLogDropped }

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descLogDropped, prometheus.CounterValue, float64(c.e.access.stats().AccessDropped), "access")
}

// accessLogger is log.access compiled for one load: the format and the
// writer of its destination.
type accessLogger struct {
	parts []accessPart // nil: JSON
	w     *asyncWriter
}

// accessField is what a template placeholder names.
type accessField uint8

const (
	afLiteral accessField = iota
	afMethod
	afPath
	afStatus
	afBytes
	afDuration
	afClientIP
	afRoute
	afAccount
	afCache
	afUpstream
	afRequestID
	afHeader
)

var accessFieldByName = map[string]accessField{
	"method": afMethod, "path": afPath, "status": afStatus, "bytes": afBytes, "duration_ms": afDuration,
	"client_ip": afClientIP, "route": afRoute, "account": afAccount, "cache": afCache,
	"upstream": afUpstream, "request_id": afRequestID,
}

type accessPart struct {
	field   accessField
	literal []byte // afLiteral's text; afHeader's canonical name
}

// newAccessLogger compiles cfg (nil when the log is off) and opens its
// destination.
func (e *Engine) newAccessLogger(cfg config.AccessLog) (*accessLogger, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	tps, err := config.ParseAccessFormat(cfg.Format)
	if err != nil {
		return nil, fmt.Errorf("log.access.format: %w", err)
	}
	l := &accessLogger{}
	for _, tp := range tps {
		switch tp.Source {
		case "":
			l.parts = append(l.parts, accessPart{literal: []byte(tp.Literal)})
		case config.SourceHeader:
			l.parts = append(l.parts, accessPart{field: afHeader, literal: []byte(canonicalHeader(tp.Name))})
		default:
			f, ok := accessFieldByName[tp.Source]
			if !ok {
				return nil, fmt.Errorf("BUG: log.access.format: no access field %q", tp.Source)
			}
			l.parts = append(l.parts, accessPart{field: f})
		}
	}
	if l.w, err = e.access.writer(cfg.File); err != nil {
		return nil, err
	}
	return l, nil
}

// cacheOutcome is what the cache stage did for a request ({cache}).
type cacheOutcome uint8

const (
	cacheNone   cacheOutcome = iota // the route does not cache
	cacheHit                        // a fresh entry answered
	cacheMiss                       // the backend ran (or another request's fill was awaited)
	cacheStale                      // a stale entry answered (stale_while_revalidate, stale_if_error)
	cacheBypass                     // not cacheable: a method other than GET/HEAD, or a key too large to cache
)

var cacheOutcomeNames = [...][]byte{cacheNone: nil, cacheHit: []byte("HIT"), cacheMiss: []byte("MISS"), cacheStale: []byte("STALE"), cacheBypass: []byte("BYPASS")}

// log builds r's line and queues it. It allocates nothing in the steady
// state: the line is a pooled buffer and every field is appended.
func (l *accessLogger) log(r *request) {
	line := getLine()
	if l.parts == nil {
		line.b = appendAccessJSON(line.b, r)
	} else {
		line.b = l.appendTemplate(line.b, r)
	}
	line.b = append(line.b, '\n')
	l.w.write(line)
}

// appendAccessJSON appends r's line as JSON: the keys of the template
// fields (unset ones left out) after time, level and msg, as the process
// log's lines start.
func appendAccessJSON(dst []byte, r *request) []byte {
	dst = append(dst, `{"time":"`...)
	dst = time.Now().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","level":"INFO","msg":"access","method":`...)
	dst = appendJSONString(dst, r.ctx.Method())
	dst = append(dst, `,"path":`...)
	dst = appendJSONString(dst, r.ctx.Path())
	dst = append(dst, `,"route":`...)
	dst = appendJSONString(dst, routeName(r))
	dst = append(dst, `,"status":`...)
	dst = fasthttp.AppendUint(dst, r.ctx.Response.StatusCode())
	if n := responseBytes(r); n >= 0 {
		dst = append(dst, `,"bytes":`...)
		dst = fasthttp.AppendUint(dst, n)
	}
	dst = append(dst, `,"duration_ms":`...)
	dst = appendMillis(dst, since(r.ctx))
	dst = append(dst, `,"client_ip":"`...)
	dst = appendClientIP(dst, r)
	dst = append(dst, `","request_id":`...)
	dst = appendJSONString(dst, r.requestID())
	if r.acc != nil {
		dst = append(dst, `,"account":`...)
		dst = appendJSONString(dst, r.acc.idBytes)
	}
	if c := cacheOutcomeNames[r.cache]; c != nil {
		dst = append(dst, `,"cache":"`...)
		dst = append(dst, c...)
		dst = append(dst, '"')
	}
	if r.upstream != "" {
		dst = append(dst, `,"upstream":`...)
		dst = appendJSONString(dst, strBytes(r.upstream))
		dst = append(dst, `,"target":`...)
		dst = appendJSONString(dst, strBytes(r.target))
	}
	return append(dst, '}')
}

// appendTemplate appends r's line in the template's format; an unset
// field is "-", and request-controlled bytes are escaped (appendLogText).
func (l *accessLogger) appendTemplate(dst []byte, r *request) []byte {
	for i := range l.parts {
		p := &l.parts[i]
		switch p.field {
		case afLiteral:
			dst = append(dst, p.literal...)
		case afMethod:
			dst = appendLogText(dst, r.ctx.Method())
		case afPath:
			dst = appendLogText(dst, r.ctx.Path())
		case afStatus:
			dst = fasthttp.AppendUint(dst, r.ctx.Response.StatusCode())
		case afBytes:
			if n := responseBytes(r); n >= 0 {
				dst = fasthttp.AppendUint(dst, n)
			} else {
				dst = append(dst, '-')
			}
		case afDuration:
			dst = appendMillis(dst, since(r.ctx))
		case afClientIP:
			dst = appendClientIP(dst, r)
		case afRoute:
			dst = appendLogText(dst, routeName(r))
		case afAccount:
			if r.acc != nil {
				dst = appendLogText(dst, r.acc.idBytes)
			} else {
				dst = append(dst, '-')
			}
		case afCache:
			if c := cacheOutcomeNames[r.cache]; c != nil {
				dst = append(dst, c...)
			} else {
				dst = append(dst, '-')
			}
		case afUpstream:
			if r.upstream != "" {
				dst = appendLogText(dst, strBytes(r.upstream))
			} else {
				dst = append(dst, '-')
			}
		case afRequestID:
			dst = appendLogText(dst, r.requestID()) // a trusted proxy's may hold " or \
		case afHeader:
			if v := r.ctx.Request.Header.PeekCanonical(p.literal); len(v) > 0 {
				dst = appendLogText(dst, v)
			} else {
				dst = append(dst, '-')
			}
		}
	}
	return dst
}

func routeName(r *request) []byte {
	if r.ep != nil {
		return strBytes(r.ep.name)
	}
	return strBytes(endpointUnknown)
}

// responseBytes is the body's length, or -1 for a streamed body of unknown
// length: the line is written when the handler returns, before a stream is
// sent (and Response.Body would read the stream whole).
func responseBytes(r *request) int {
	resp := &r.ctx.Response
	if resp.IsBodyStream() {
		return max(resp.Header.ContentLength(), -1)
	}
	return len(resp.Body())
}

// appendClientIP appends the client's address as limits.trusted_proxies
// tells it (X-Forwarded-For from a trusted proxy, else the peer).
func appendClientIP(dst []byte, r *request) []byte {
	r.keyBuf = clientIP(r.ctx, r.st.trusted, r.keyBuf)
	a, ok := netip.AddrFromSlice(r.keyBuf)
	if !ok {
		return append(dst, '-')
	}
	return a.Unmap().AppendTo(dst)
}

// strBytes views s as bytes, for appending only: the bytes must never be
// changed (they are the string's).
func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// appendLogText appends b for a text line as nginx does: printable ASCII
// as is, and ", \ and every other byte as \xHH, so a request cannot forge
// a line or break a quoted field.
func appendLogText(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			continue
		}
		return appendLogTextSlow(dst, b)
	}
	return append(dst, b...)
}

func appendLogTextSlow(dst, b []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
	}
	return dst
}

// appendJSONString appends b as a JSON string; invalid UTF-8 becomes
// U+FFFD, so the line stays valid JSON whatever the request held.
func appendJSONString(dst, b []byte) []byte {
	dst = append(dst, '"')
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return append(appendJSONSlow(dst, b), '"')
		}
	}
	dst = append(dst, b...)
	return append(dst, '"')
}

func appendJSONSlow(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < 0x80:
			dst = append(dst, c)
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, b[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return dst
}
