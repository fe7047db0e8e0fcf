package cache

import (
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// entryOverhead is the cost charged for an Entry beyond the bytes it holds, so that
// many tiny bodies cannot exceed MaxBytes in struct headers.
const entryOverhead = int64(unsafe.Sizeof(Entry{}))

// Entry is one cached response. It is immutable once stored: readers share it
// without locks, so its slices must never be modified; they stay valid for as long as
// the caller holds the *Entry, even after the cache drops it.
type Entry struct {
	// The fields a lookup reads come first, so that they share the first cache line
	// with Body's header.

	// seq is the purge counter read before the data in Body was read; see the package
	// documentation on invalidation.
	seq atomic.Uint64
	// Route is the index of the route the entry belongs to; PurgeRoute(Route) purges it.
	// It must equal the route given to Hasher.Reset for the entry's key.
	Route uint32
	// Status is the HTTP status of the response.
	Status int
	// ExpiresAt is when the entry stops being fresh: StoredAt + ttl.
	ExpiresAt time.Time

	// ContentType is the response's Content-Type, as the backend gave it.
	ContentType []byte
	// Header holds the other response headers stored with the body (an
	// upstream's, say), written back as they are on every hit.
	Header []HeaderField

	// Body is the identity body.
	Body []byte
	// Gzip is the gzip variant of Body, or nil when the body was too small to compress,
	// compression is off, or gzip did not make it smaller.
	Gzip []byte
	// Brotli is the brotli variant of Body, or nil as for Gzip.
	Brotli []byte

	// ETag is the strong validator of Body, quoted: `"` + 16 hex digits of the xxhash
	// of Body + `"`.
	ETag []byte
	// GzipETag and BrotliETag are the validators of the compressed variants (ETag with
	// a "-gz" or "-br" suffix inside the quotes), nil when the variant is. RFC 9110
	// §8.8.3 asks a strong validator to differ between content codings of a resource.
	GzipETag   []byte
	BrotliETag []byte

	// StoredAt is when the entry was made; the Age of a response is counted from it.
	StoredAt time.Time
	// StaleUntil is when the entry stops being servable as stale: ExpiresAt + grace.
	StaleUntil time.Time
}

// HeaderField is one stored response header.
type HeaderField struct {
	Name, Value []byte
}

// Meta is what an entry holds beside its body.
type Meta struct {
	Status      int
	ContentType []byte
	Header      []HeaderField
}

// NewEntry makes an entry of route from meta and body, fresh for ttl and servable as
// stale for grace after that. The entry takes body over: the caller hands its buffer
// in (a miss pays no copy) and must not touch it again. With Options.Compress, bodies
// of at least Options.CompressMinBytes also get gzip and brotli variants here, once.
// An entry whose ttl is not positive is never stored by Set.
func (c *Cache) NewEntry(route uint32, meta Meta, body []byte, ttl, grace time.Duration) *Entry {
	now := time.Now()
	e := &Entry{
		Body:        body,
		ContentType: meta.ContentType,
		Header:      meta.Header,
		Route:       route,
		Status:      meta.Status,
		StoredAt:    now,
	}
	e.ExpiresAt = now.Add(ttl)
	e.StaleUntil = e.ExpiresAt.Add(max(grace, 0))
	e.seq.Store(c.seq.Load())

	sum := xxhash.Sum64(e.Body)
	e.ETag = appendETag(nil, sum, "")
	if c.opts.Compress && len(body) >= c.opts.CompressMinBytes {
		if e.Gzip = c.comp.gzip(e.Body); e.Gzip != nil {
			e.GzipETag = appendETag(nil, sum, "-gz")
		}
		if e.Brotli = c.comp.brotli(e.Body); e.Brotli != nil {
			e.BrotliETag = appendETag(nil, sum, "-br")
		}
	}
	return e
}

// Fresh reports whether e is still fresh at now.
func (e *Entry) Fresh(now time.Time) bool {
	return now.Before(e.ExpiresAt)
}

// Age returns how long e has existed at now, for the Age header (RFC 9111 §5.1).
func (e *Entry) Age(now time.Time) time.Duration {
	return max(now.Sub(e.StoredAt), 0)
}

// Cost returns what e counts against Options.MaxBytes: the memory it holds plus a
// fixed overhead.
func (e *Entry) Cost() int64 {
	// The body's capacity, not its length: a buffer taken over from the
	// encoder may have grown past what it holds, and all of it stays.
	n := cap(e.Body) + len(e.Gzip) + len(e.Brotli) + len(e.ETag) + len(e.GzipETag) + len(e.BrotliETag) + len(e.ContentType)
	for _, f := range e.Header {
		n += len(f.Name) + len(f.Value) + int(unsafe.Sizeof(f))
	}
	return entryOverhead + int64(n)
}

// lowerSeq makes e's purge counter at most s. Lowering it can only make e purged
// sooner, so it is safe even on an entry someone else already stored.
func (e *Entry) lowerSeq(s uint64) {
	for {
		cur := e.seq.Load()
		if cur <= s || e.seq.CompareAndSwap(cur, s) {
			return
		}
	}
}

// appendETag appends the quoted strong validator of a body whose xxhash is sum.
func appendETag(dst []byte, sum uint64, suffix string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(sum>>uint(shift))&0xf])
	}
	dst = append(dst, suffix...)
	return append(dst, '"')
}
