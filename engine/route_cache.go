package engine

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/cache"
)

// cachePolicy is an endpoint's cache stage, compiled from the route's
// cache, cache_key and stale_* keys.
type cachePolicy struct {
	route  uint32 // the cache's route id: kept across reloads while the route is unchanged
	name   string // the route's, for logs
	keyIdx []int  // indexes into the params that key the cache
	ttl    time.Duration
	grace  time.Duration // how long past ttl a stale body may still serve
	swr    bool          // stale_while_revalidate: serve stale, refresh behind
	// byRequest keys the cache by the request's path and query too, and
	// caches GET and HEAD only: the answer of a non-SQL backend depends on
	// the whole request, not on declared params alone.
	byRequest bool
	fetch     fetcher
	e         *Engine
}

var (
	methodGET  = []byte("GET")
	methodHEAD = []byte("HEAD")
)

// admits reports whether r may be answered from (and into) the cache.
// A request of a non-SQL route is cached only when it is a GET or HEAD
// without a body and without credentials: the answer is shared by every
// client of the key, and neither a body nor an identity is in it.
func (cp *cachePolicy) admits(r *request) bool {
	if !cp.byRequest {
		return true
	}
	m := r.ctx.Method()
	if !bytes.Equal(m, methodGET) && !bytes.Equal(m, methodHEAD) {
		return false
	}
	// ContentLength: 0, or -2 for none declared (a GET's); -1 is chunked.
	cl := r.ctx.Request.Header.ContentLength()
	return (cl == 0 || cl == -2) && r.acc == nil && r.claims == nil &&
		len(r.ctx.Request.Header.PeekCanonical(headerAuthorization)) == 0
}

var (
	headerETag         = []byte("ETag")
	headerCacheControl = []byte("Cache-Control")
	headerAge          = []byte("Age")
	valueAcceptEnc     = []byte("Accept-Encoding")
	// Request header names in the canonical form fasthttp normalizes
	// incoming names to, so lookups skip normalizing the key each time.
	headerAcceptEncoding = []byte(fasthttp.HeaderAcceptEncoding)
	headerIfNoneMatch    = []byte(fasthttp.HeaderIfNoneMatch)
	encGzip              = []byte("gzip")
	encBrotli            = []byte("br")
)

// statusStream marks a cache entry that holds no body: the key's answer is
// larger than cache.stream_threshold_bytes and is streamed uncached.
const statusStream = 0

// serve answers from the cache when it can, else fetches once per key
// however many requests miss at the same time. It records the outcome
// (r.cache) and times the lookup as Server-Timing's cache; a miss's wait
// for the fill (its own or another request's) is db or upstream, whole:
// a fill may serve several requests, so it is not split further.
func (cp *cachePolicy) serve(r *request, ep *endpoint) error {
	t := time.Now()
	key := cp.key(r)
	c := cp.e.cache
	if ent, ok := c.GetAt(key, r.ctx.Time()); ok {
		r.timed(stageCache, t)
		r.cache = cacheHit
		if ent.Status == statusStream {
			r.cache = cacheBypass
		}
		return cp.answer(r, ep, ent, false)
	}
	if cp.swr {
		if ent, ok := c.GetStale(key); ok && ent.Status != statusStream {
			r.timed(stageCache, t)
			r.cache = cacheStale
			c.Refresh(key, cp.fill(r))
			return cp.answer(r, ep, ent, true)
		}
	}
	t = r.timed(stageCache, t)
	r.cache = cacheMiss
	ent, _, err := c.Do(context.Background(), key, cp.fill(r))
	r.timed(cp.fillStage(), t)
	if err != nil {
		if cp.grace > 0 && isUnavailable(err) {
			if ent, ok := c.GetStale(key); ok && ent.Status != statusStream {
				r.cache = cacheStale
				return cp.answer(r, ep, ent, true)
			}
		}
		return err
	}
	return cp.answer(r, ep, ent, false)
}

// fillStage is the Server-Timing stage a miss's fill counts as.
func (cp *cachePolicy) fillStage() stage {
	if _, ok := cp.fetch.(*upstreamBackend); ok {
		return stageUpstream
	}
	return stageDB
}

// key hashes the route id and the key parameters.
func (cp *cachePolicy) key(r *request) uint64 {
	h := &r.hasher
	h.Reset(cp.route)
	for _, i := range cp.keyIdx {
		if v := r.values.v[i]; v == nil {
			h.WriteNull()
		} else {
			h.Write(v)
		}
	}
	if cp.byRequest {
		h.Write(r.ctx.Host()) // host-routed and any-host routes forward it
		h.Write(r.ctx.Path())
		h.Write(r.ctx.URI().QueryString())
	}
	return h.Sum()
}

// answer writes ent, or runs the backend for a key marked as streaming.
func (cp *cachePolicy) answer(r *request, ep *endpoint, ent *cache.Entry, stale bool) error {
	if ent.Status == statusStream {
		r.ctx.Response.Header.SetCanonical(headerCacheControl, ep.cacheControl)
		return ep.backend.serve(r)
	}
	writeEntry(r, ep, ent, stale)
	return nil
}

// fill fetches for the cache; the backend captures what it needs of r,
// since the fill may outlive it (a coalesced or background run).
func (cp *cachePolicy) fill(r *request) cache.FillFunc {
	fetch := cp.fetch.fill(r)
	return func(ctx context.Context) (ent *cache.Entry, err error) {
		// Fills also run in background refreshes, outside any handler.
		defer func() {
			if v := recover(); v != nil {
				cp.e.log.Error("BUG: panic while filling the cache", "route", cp.name, "panic", v)
				ent, err = nil, fmt.Errorf("BUG: panic while filling the cache: %v", v)
			}
		}()
		resp, err := fetch(ctx, cp.e.streamThreshold())
		if err == errTooLargeToCache {
			// Remember for the route's ttl that this key streams, so its
			// requests go straight to the streamed path instead of
			// filling (and dropping) a large body every time.
			return cp.e.cache.NewEntry(cp.route, cache.Meta{Status: statusStream}, nil, cp.ttl, 0), nil
		}
		if err != nil {
			return nil, err
		}
		meta := cache.Meta{Status: resp.status, ContentType: resp.contentType, Header: resp.header}
		ttl, grace := cp.ttl, cp.grace
		switch {
		case resp.noStore:
			ttl, grace = 0, 0 // answered, never stored
		case resp.maxAge > 0 && resp.maxAge < ttl:
			ttl = resp.maxAge
		}
		return cp.e.cache.NewEntry(cp.route, meta, resp.body, ttl, grace), nil
	}
}

func isUnavailable(err error) bool {
	he := errorFrom(err)
	return he.Status == 503 || he.Status == 504
}

// writeEntry answers from a cached entry: pre-encoded (and pre-compressed)
// bytes handed over without a copy, conditional requests answered 304.
func writeEntry(r *request, ep *endpoint, ent *cache.Entry, stale bool) {
	ctx := r.ctx
	body, etag := ent.Body, ent.ETag
	ae := ctx.Request.Header.PeekCanonical(headerAcceptEncoding)
	var enc []byte
	switch {
	case ent.Brotli != nil && bytes.Contains(ae, encBrotli):
		body, etag, enc = ent.Brotli, ent.BrotliETag, encBrotli
	case ent.Gzip != nil && bytes.Contains(ae, encGzip):
		body, etag, enc = ent.Gzip, ent.GzipETag, encGzip
	}
	h := &ctx.Response.Header
	h.SetContentTypeBytes(ent.ContentType)
	for i, f := range ent.Header {
		// The first field of a name replaces what is there; the ones
		// after it are the upstream's repeats (Link, Via, …), added.
		if namedBefore(ent.Header[:i], f.Name) {
			h.AddBytesKV(f.Name, f.Value)
		} else {
			h.SetCanonical(f.Name, f.Value)
		}
	}
	h.SetCanonical(headerCacheControl, ep.cacheControl)
	setVary(h, valueAcceptEnc)
	h.SetCanonical(headerETag, etag)
	if stale {
		r.buf = strconv.AppendInt(r.buf[:0], int64(ent.Age(time.Now())/time.Second), 10)
		h.SetCanonical(headerAge, r.buf)
	}
	if inm := ctx.Request.Header.PeekCanonical(headerIfNoneMatch); len(inm) > 0 && bytes.Contains(inm, etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	if enc != nil {
		h.SetContentEncodingBytes(enc)
	}
	ctx.SetStatusCode(ent.Status)
	ctx.Response.SetBodyRaw(body)
}

// namedBefore reports whether one of fields has name (stored headers are
// few: a scan costs less than a set).
func namedBefore(fields []cache.HeaderField, name []byte) bool {
	for _, f := range fields {
		if bytes.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

func (e *Engine) streamThreshold() int {
	return int(e.cfg().Cache.StreamThresholdBytes)
}
