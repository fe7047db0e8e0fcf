package engine

import (
	"sync/atomic"
	"time"
)

// inflight is the process-wide budget of response bytes held in memory on
// behalf of clients (server.max_inflight_response_bytes): rows read ahead
// of a slow reader and /v1/batch results. One atomic counter, so taking a
// piece of it costs a CAS, never a lock. A response that cannot get budget
// does not wait: a stream spills to its temporary file, a batch gets 503.
type inflight struct {
	used atomic.Int64
	peak atomic.Int64 // high-water mark of used, for tests and stats
}

// tryAcquire takes n bytes of a budget of limit; it reports false, taking
// nothing, when that would pass limit.
func (b *inflight) tryAcquire(n, limit int64) bool {
	for {
		u := b.used.Load()
		if u+n > limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			b.notePeak(u + n)
			return true
		}
	}
}

func (b *inflight) notePeak(u int64) {
	for {
		p := b.peak.Load()
		if u <= p || b.peak.CompareAndSwap(p, u) {
			return
		}
	}
}

// release gives back n bytes taken with tryAcquire.
func (b *inflight) release(n int64) {
	if n != 0 {
		b.used.Add(-n)
	}
}

// inflightMax is the current server.max_inflight_response_bytes; read per
// acquisition so a reload applies to the next response.
func (e *Engine) inflightMax() int64 {
	return int64(e.cfg().Server.MaxInflightResponseBytes)
}

// InflightBytes reports the response bytes held in memory now and the most
// ever held at once (server.max_inflight_response_bytes bounds both).
func (e *Engine) InflightBytes() (used, peak int64) {
	return e.inflight.used.Load(), e.inflight.peak.Load()
}

// streamCounters count what the streamed-response machinery did, for
// /metrics.
type streamCounters struct {
	cut       atomic.Uint64 // clients cut for reading slower than stream_min_rate
	spilled   atomic.Uint64 // responses that spilled read-ahead to a temporary file
	rejected  atomic.Uint64 // requests refused 503 for want of budget (batches)
	connsOver atomic.Uint64 // connections refused past server.max_conns
}

// batchBudgetRetry is the Retry-After of a batch refused for budget: memory
// held by other responses comes back as fast as they are written.
const batchBudgetRetry = time.Second

// heldBudget is budget a request keeps until fasthttp has written its
// response: registered as a user value, it is closed when the request
// context is reset, after the body went out (or the connection failed).
type heldBudget struct {
	b *inflight
	n int64
}

// grow takes budget until size bytes are held, in steps of at least step
// so a growing result costs a CAS per step rather than per row.
func (h *heldBudget) grow(size, step, limit int64) bool {
	if size <= h.n {
		return true
	}
	want := max(size-h.n, step)
	if !h.b.tryAcquire(want, limit) {
		// Near the end of the budget a full step may not fit where the
		// exact need does.
		want = size - h.n
		if !h.b.tryAcquire(want, limit) {
			return false
		}
	}
	h.n += want
	return true
}

// shrink gives back what is held beyond size bytes.
func (h *heldBudget) shrink(size int64) {
	if size < h.n {
		h.b.release(h.n - size)
		h.n = size
	}
}

// Close releases what is held; fasthttp calls it when it resets the
// request's user values. Idempotent.
func (h *heldBudget) Close() error {
	h.b.release(h.n)
	h.n = 0
	return nil
}
