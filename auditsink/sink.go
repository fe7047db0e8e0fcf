// Package auditsink ships audit lines to OpenSearch (or Elasticsearch)
// through the _bulk API: a Write enqueues one JSON document without
// blocking, a goroutine sends them in batches, retries with backoff what the
// server did not take, and bounds the memory held meanwhile. What does not
// fit is dropped and counted, never waited for: the audit's first copy is
// the local log (stdout or log.audit.file), this is an extra one.
//
// It imports nothing of pgfast and uses net/http: the sink is a client of
// one slow-changing endpoint, where fasthttp's gains do not matter.
package auditsink

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options' zero fields.
const (
	DefaultIndex         = "pgfast-audit"
	DefaultBatch         = 500
	DefaultFlushInterval = time.Second
	DefaultMaxBuffered   = 8 << 20
	DefaultMaxRetries    = 8
	DefaultMinBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff    = 5 * time.Second
	DefaultCloseTimeout  = 5 * time.Second
	DefaultTimeout       = 10 * time.Second
)

// Options configure a Sink. The zero value of every field but URL works.
type Options struct {
	// URL is the cluster's base URL (https://opensearch.internal:9200);
	// documents go to URL + "/_bulk". Required.
	URL string
	// Token authenticates each request. "user:password" is sent as HTTP
	// Basic (OpenSearch's internal users), anything else as
	// "Authorization: Bearer TOKEN" (a proxy or an API key). "" sends none.
	Token string
	// Index receives the documents. Default DefaultIndex ("pgfast-audit").
	Index string
	// Batch is the most documents one _bulk request carries. Default 500:
	// OpenSearch's guidance is bulk bodies of 5–15 MB; audit lines are
	// about 300 bytes, so 500 of them is ~150 KB, sent at least every
	// FlushInterval.
	Batch int
	// FlushInterval bounds how long a document waits for its batch to
	// fill. Default 1s.
	FlushInterval time.Duration
	// MaxBuffered bounds the bytes of documents held, queued and in
	// flight together (the request body being sent is a copy of at most
	// one batch of them, so the sink holds at most about twice this).
	// Default 8 MiB (about 25 000 audit lines: 25 s of a
	// 1000 queries/s workload while the cluster is away). A Write past it
	// is dropped and counted.
	MaxBuffered int
	// MaxRetries bounds the attempts after the first for one batch (or
	// the items of it the server refused with 429 or 5xx); the documents
	// still not taken then count as Failed. Default 8: with the default
	// backoff about 25 s of outage per batch.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the wait before a retry: it doubles
	// from MinBackoff up to MaxBackoff, each wait drawn between half and
	// all of it (jitter, so that many instances do not retry in step).
	// Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// CloseTimeout bounds how long Close spends sending what is buffered.
	// Default 5s.
	CloseTimeout time.Duration
	// Client sends the requests. Default: an http.Client with a 10s
	// timeout.
	Client *http.Client
	// Logger receives the sink's own problems (a refused batch, a dropped
	// write after a quiet period). Default slog.Default(). It must not be
	// the audit logger that writes to this sink.
	Logger *slog.Logger
}

// Validate reports an unusable Options.
func (o *Options) Validate() error {
	if o.URL == "" {
		return errors.New("auditsink: URL is required")
	}
	if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
		return fmt.Errorf("auditsink: URL must be an http:// or https:// URL, got %q", o.URL)
	}
	if o.Batch < 0 || o.MaxBuffered < 0 || o.MaxRetries < 0 || o.FlushInterval < 0 {
		return errors.New("auditsink: Batch, MaxBuffered, MaxRetries and FlushInterval must not be negative")
	}
	return nil
}

func (o *Options) withDefaults() {
	o.URL = strings.TrimRight(o.URL, "/")
	if o.Index == "" {
		o.Index = DefaultIndex
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxBuffered == 0 {
		o.MaxBuffered = DefaultMaxBuffered
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Stats is a snapshot of a Sink's counters, in documents.
type Stats struct {
	// Sent documents the cluster took.
	Sent uint64 `json:"sent"`
	// Dropped documents never queued: the buffer was full (MaxBuffered)
	// or the sink closed.
	Dropped uint64 `json:"dropped"`
	// Failed documents given up: refused for good (a 4xx other than 429,
	// an item the cluster rejected as malformed), still refused after
	// MaxRetries, or still buffered when Close's time ran out.
	Failed uint64 `json:"failed"`
	// Retries counts _bulk requests sent again (a whole batch after a 429,
	// 5xx or network error, or the refused items of one).
	Retries uint64 `json:"retries"`
	// Buffered is the bytes held now, queued and in flight.
	Buffered int64 `json:"buffered_bytes"`
}

// Sink sends documents to one index in batches. Create it with New; Write
// from any goroutine; Close once done.
type Sink struct {
	o         Options
	bulkURL   string
	auth      string
	indexLine []byte // {"index":{"_index":"…"}}\n

	mu       sync.Mutex
	queue    [][]byte
	buffered int64 // bytes queued and in flight; guarded by mu
	closed   bool

	kick chan struct{} // a batch is full
	stop chan struct{} // Close began
	done chan struct{} // the goroutine ended
	ctx  context.Context
	// cancel cuts the request or backoff in progress once Close's time
	// is up.
	cancel    context.CancelFunc
	closeOnce sync.Once

	sent, dropped, failed, retries atomic.Uint64

	body []byte // the request body being built; the goroutine's alone
}

// New starts a sink: its goroutine runs until Close.
func New(o Options) (*Sink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.withDefaults()
	idx, err := json.Marshal(o.Index)
	if err != nil {
		return nil, fmt.Errorf("auditsink: index: %w", err)
	}
	s := &Sink{
		o:         o,
		bulkURL:   o.URL + "/_bulk",
		auth:      authorization(o.Token),
		indexLine: []byte(`{"index":{"_index":` + string(idx) + "}}\n"),
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s, nil
}

// authorization is the Authorization header for token: Basic for
// "user:password", Bearer otherwise, none for "".
func authorization(token string) string {
	switch {
	case token == "":
		return ""
	case strings.Contains(token, ":"):
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(token))
	default:
		return "Bearer " + token
	}
}

// Write enqueues doc, one JSON object (a trailing newline is removed), and
// reports whether it was queued. It never blocks on the network: when the
// buffer is full or the sink closed, doc is dropped and counted. doc is
// copied; the caller may reuse it at once. Write implements io.Writer's
// shape for a slog handler: it always returns len(doc), nil.
func (s *Sink) Write(doc []byte) (int, error) {
	s.Enqueue(doc)
	return len(doc), nil
}

// Enqueue is Write reporting whether doc was queued.
func (s *Sink) Enqueue(doc []byte) bool {
	doc = bytes.TrimRight(doc, "\n")
	if len(doc) == 0 {
		return true
	}
	size := int64(len(doc))
	s.mu.Lock()
	if s.closed || s.buffered+size > int64(s.o.MaxBuffered) {
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	s.buffered += size
	s.queue = append(s.queue, append(make([]byte, 0, len(doc)), doc...))
	full := len(s.queue) >= s.o.Batch
	s.mu.Unlock()
	if full {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// Stats takes a snapshot of the counters.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	b := s.buffered
	s.mu.Unlock()
	return Stats{Sent: s.sent.Load(), Dropped: s.dropped.Load(), Failed: s.failed.Load(), Retries: s.retries.Load(), Buffered: b}
}

// Close stops accepting documents, sends what is buffered (retrying as
// usual) for at most CloseTimeout, counts the rest as Failed and stops the
// goroutine. It is idempotent and a no-op on a nil Sink; Write after Close
// drops.
func (s *Sink) Close() {
	if s == nil {
		return
	}
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		t := time.AfterFunc(s.o.CloseTimeout, s.cancel)
		<-s.done
		t.Stop()
		s.cancel()
	})
}

// run sends a batch when one is full, every FlushInterval, and at Close.
func (s *Sink) run() {
	defer close(s.done)
	tick := time.NewTicker(s.o.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.kick:
		case <-tick.C:
		case <-s.stop:
			for s.flush() {
			}
			return
		}
		for s.flush() {
			if s.ctx.Err() != nil {
				break
			}
			// Keep sending while full batches wait; a partial one waits
			// for the tick.
			s.mu.Lock()
			more := len(s.queue) >= s.o.Batch
			s.mu.Unlock()
			if !more {
				break
			}
		}
	}
}

// flush sends up to Batch documents from the head of the queue and reports
// whether it took any.
func (s *Sink) flush() bool {
	s.mu.Lock()
	n := min(len(s.queue), s.o.Batch)
	if n == 0 {
		s.mu.Unlock()
		return false
	}
	batch := make([][]byte, n)
	copy(batch, s.queue[:n])
	// Shift rather than reslice, so the queue's array does not creep
	// forward and keep every sent document reachable.
	m := copy(s.queue, s.queue[n:])
	clear(s.queue[m:])
	s.queue = s.queue[:m]
	s.mu.Unlock()
	s.send(batch)
	return true
}

// send delivers batch, retrying what was refused, and releases its bytes
// from the buffer as each document is settled.
func (s *Sink) send(batch [][]byte) {
	backoff := s.o.MinBackoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.retries.Add(1)
		}
		retry, err := s.post(batch)
		if err == nil && len(retry) == 0 {
			return
		}
		if err != nil {
			// The whole batch is retried, nothing of it settled.
			retry = batch
		}
		batch = retry
		if attempt == s.o.MaxRetries || s.ctx.Err() != nil {
			s.o.Logger.Warn("audit: OpenSearch did not take documents; giving up on them",
				"docs", len(batch), "attempts", attempt+1, "err", err)
			s.settle(batch, &s.failed)
			return
		}
		// Full jitter in [backoff/2, backoff]: instances behind one
		// cluster spread out instead of retrying in step (AWS
		// Architecture Blog, "Exponential Backoff And Jitter").
		wait := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
		}
		backoff = min(2*backoff, s.o.MaxBackoff)
	}
}

// settle counts docs into c and releases their bytes.
func (s *Sink) settle(docs [][]byte, c *atomic.Uint64) {
	var size int64
	for _, d := range docs {
		size += int64(len(d))
	}
	c.Add(uint64(len(docs)))
	s.mu.Lock()
	s.buffered -= size
	s.mu.Unlock()
}
