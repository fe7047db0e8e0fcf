package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/config"
)

var (
	headerETag         = []byte("ETag")
	headerCacheControl = []byte("Cache-Control")
	headerAge          = []byte("Age")
	headerVary         = []byte("Vary")
	valueAcceptEnc     = []byte("Accept-Encoding")
	// Request header names in the canonical form fasthttp normalizes
	// incoming names to, so lookups skip normalizing the key each time.
	headerAcceptEncoding = []byte(fasthttp.HeaderAcceptEncoding)
	headerIfNoneMatch    = []byte(fasthttp.HeaderIfNoneMatch)
	encGzip              = []byte("gzip")
	encBrotli            = []byte("br")
	bodyNotFound         = []byte(`{"error":{"code":"not_found","message":"no row matches"}}`)
)

// maxRouteParams bounds a route's parameters so a request can gather them
// in a fixed array.
const maxRouteParams = 16

// routeValues are one request's parameter values: sub-slices of the
// request, or of vbuf for clamped numbers. Valid until the handler returns.
type routeValues struct {
	n    int
	v    [maxRouteParams][]byte
	vbuf [maxRouteParams][24]byte
}

// gather collects the route's parameters from the request, applying
// defaults and caps, and checks them against their types.
func (rt *route) gather(r *request, out *routeValues) error {
	out.n = len(rt.params)
	for i := range rt.params {
		p := &rt.params[i]
		var v []byte
		present := false
		switch p.source {
		case config.SourcePath:
			v, present = r.params.Get(p.pathIdx), true
		case config.SourceQuery:
			if v = r.ctx.QueryArgs().PeekBytes(p.nameB); v != nil {
				present = true
			}
		case config.SourceHeader:
			if v = r.ctx.Request.Header.PeekCanonical(p.nameB); v != nil {
				present = true
			}
		case config.SourceJWT:
			v, present = r.claims.Claim(p.name)
		case config.SourceBody:
			var err error
			if v, present, err = r.bodyField(p.name); err != nil {
				return err
			}
		}
		if !present {
			if p.required {
				return errBadRequest("missing required parameter " + p.source + "." + p.name)
			}
			if p.hasDef {
				v = p.def
			}
			out.v[i] = v // nil is SQL NULL
			continue
		}
		if !p.valid(v) {
			return errBadRequest(p.source + "." + p.name + ": " + strconv.Quote(string(v)) + " is not a valid " + typeName(p.oid))
		}
		if bytes.IndexByte(v, 0) >= 0 {
			return errBadRequest(p.source + "." + p.name + ": contains a NUL byte, which PostgreSQL text cannot hold")
		}
		if p.hasMax {
			if n, _ := parseInt(v); n > p.max {
				v = strconv.AppendInt(out.vbuf[i][:0], p.max, 10)
			}
		}
		out.v[i] = v
	}
	return nil
}

// serveRoute answers a declared route: from the cache when it can, else by
// running the prepared statement (once per key, however many requests miss
// at the same time).
func (e *Engine) serveRoute(r *request, rt *route) error {
	var acc *account
	switch rt.auth {
	case config.AuthToken:
		var err error
		if acc, err = r.st.authenticate(r); err != nil {
			return err
		}
	case config.AuthJWT:
		var err error
		if r.claims, err = r.st.verifyJWT(r); err != nil {
			return err
		}
	}
	if rt.limit != nil {
		if err := applyLimit(r, rt.limit, r.st.clientKey(r, acc)); err != nil {
			return err
		}
	}
	vals := &r.values
	if err := rt.gather(r, vals); err != nil {
		return err
	}
	if rt.ttl <= 0 {
		return e.runUncached(r, rt, vals)
	}
	h := &r.hasher
	h.Reset(rt.id)
	for _, i := range rt.keyIdx {
		if vals.v[i] == nil {
			h.WriteNull()
		} else {
			h.Write(vals.v[i])
		}
	}
	key := h.Sum()
	c := e.cache
	if ent, ok := c.GetAt(key, r.ctx.Time()); ok {
		if ent.Status == statusStream {
			return e.runUncached(r, rt, vals)
		}
		e.writeEntry(r, rt, ent, false)
		return nil
	}
	if rt.swr {
		if ent, ok := c.GetStale(key); ok && ent.Status != statusStream {
			c.Refresh(key, e.fillFunc(rt, vals))
			e.writeEntry(r, rt, ent, true)
			return nil
		}
	}
	ent, _, err := c.Do(context.Background(), key, e.fillFunc(rt, vals))
	if err == nil && ent.Status == statusStream {
		return e.runUncached(r, rt, vals)
	}
	if err != nil {
		if rt.grace > 0 && isUnavailable(err) {
			if ent, ok := c.GetStale(key); ok {
				e.writeEntry(r, rt, ent, true)
				return nil
			}
		}
		return err
	}
	e.writeEntry(r, rt, ent, false)
	return nil
}

// fillFunc runs the route for the cache. The values are copied: the fill
// may outlive the request that started it (a coalesced or background run).
func (e *Engine) fillFunc(rt *route, vals *routeValues) cache.FillFunc {
	args := make([][]byte, vals.n)
	for i := 0; i < vals.n; i++ {
		if vals.v[i] != nil {
			args[i] = append([]byte{}, vals.v[i]...)
		}
	}
	return func(ctx context.Context) (ent *cache.Entry, err error) {
		// Fills also run in background refreshes, outside any handler.
		defer func() {
			if v := recover(); v != nil {
				e.log.Error("BUG: panic while filling the cache", "route", rt.cfg.Name, "panic", v)
				ent, err = nil, fmt.Errorf("BUG: panic while filling the cache: %v", v)
			}
		}()
		ctx, cancel := routeContext(ctx, rt)
		defer cancel()
		body, status, err := e.execRoute(ctx, rt, args, nil, e.streamThreshold())
		if errors.Is(err, errTooLargeToCache) {
			// Remember for the route's ttl that this key streams, so its
			// requests go straight to the streamed path instead of
			// filling (and dropping) a large body every time.
			return e.cache.NewEntry(rt.id, statusStream, nil, rt.ttl, 0), nil
		}
		if err != nil {
			return nil, err
		}
		return e.cache.NewEntry(rt.id, status, body, rt.ttl, rt.grace), nil
	}
}

var errTooLargeToCache = errors.New("engine: result exceeds cache.stream_threshold_bytes")

// statusStream marks a cache entry that holds no body: the key's result is
// larger than cache.stream_threshold_bytes and is streamed uncached.
const statusStream = 0

func (e *Engine) streamThreshold() int {
	return int(e.cfg.Load().Cache.StreamThresholdBytes)
}

// routeContext bounds one route execution: its timeout (or the pool's
// statement_timeout) plus a margin, as the backstop behind the server's own
// statement_timeout.
func routeContext(ctx context.Context, rt *route) (context.Context, context.CancelFunc) {
	t := rt.timeout
	if t == 0 {
		t = rt.db.cfg.StatementTimeout.Std()
	}
	if t <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, t+2*time.Second)
}

func isUnavailable(err error) bool {
	he := errorFrom(err)
	return he.Status == 503 || he.Status == 504
}

// writeEntry answers from a cached entry: pre-encoded (and pre-compressed)
// bytes handed over without a copy, conditional requests answered 304.
func (e *Engine) writeEntry(r *request, rt *route, ent *cache.Entry, stale bool) {
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
	h.SetContentTypeBytes(contentTypeJSON)
	h.SetCanonical(headerCacheControl, rt.cacheControl)
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

// runUncached executes the route for this request alone. A `many` result
// larger than cache.stream_threshold_bytes streams (chunked) instead of
// being buffered whole: its rows are read into a spool at the database's
// pace, so the connection goes back as soon as the result is read however
// slowly the client takes it.
func (e *Engine) runUncached(r *request, rt *route, vals *routeValues) error {
	h := &r.ctx.Response.Header
	h.SetContentTypeBytes(contentTypeJSON)
	h.SetCanonical(headerCacheControl, rt.cacheControl)
	ctx, cancel := routeContext(context.Background(), rt)
	if rt.result != config.ResultMany {
		defer cancel()
		body, status, err := e.execRoute(ctx, rt, vals.v[:vals.n], r.ctx.Response.SwapBody(nil)[:0], 0)
		if err != nil {
			return err
		}
		r.ctx.SetStatusCode(status)
		r.ctx.Response.SwapBody(body)
		r.dynamic = true
		return nil
	}
	x, err := startRoute(ctx, rt, vals.v[:vals.n])
	if err != nil {
		cancel()
		return err
	}
	s := &rowsStream{x: x, cancel: cancel}
	body, done, err := s.fill(append(r.ctx.Response.SwapBody(nil)[:0], '['), e.streamThreshold())
	if err != nil || done {
		s.release(err)
	}
	if err != nil {
		return err
	}
	if done {
		r.ctx.Response.SwapBody(body)
		r.dynamic = true
		return nil
	}
	return e.startStream(r, body, s, cancel, "route", rt.cfg.Name)
}

const routeStmtsKey = "pgfast.routes"

// ensureRoutePrepared prepares the route's statement on a connection that
// has not seen it yet (a connection opened before a reload added the
// route); new connections get every route in AfterConnect.
func ensureRoutePrepared(ctx context.Context, pc *pgconn.PgConn, rt *route) error {
	seen := preparedOn(pc)
	if seen[rt.stmt] {
		return nil
	}
	if _, err := pc.Prepare(ctx, rt.stmt, rt.cfg.SQL, nil); err != nil {
		var pgErr *pgconn.PgError
		// 42P05: prepared by compileRoute on this very connection.
		if !errors.As(err, &pgErr) || pgErr.Code != "42P05" {
			return err
		}
	}
	seen[rt.stmt] = true
	return nil
}

// preparedOn is the set of route statements prepared on a connection; it
// lives in the connection's CustomData and dies with it.
func preparedOn(pc *pgconn.PgConn) map[string]bool {
	data := pc.CustomData()
	seen, _ := data[routeStmtsKey].(map[string]bool)
	if seen == nil {
		seen = map[string]bool{}
		data[routeStmtsKey] = seen
	}
	return seen
}

func markPrepared(pc *pgconn.PgConn, stmt string) { preparedOn(pc)[stmt] = true }

// clientKey tells clients apart for a route's rate limit (limits.key).
func (st *state) clientKey(r *request, acc *account) []byte {
	if st.limitKey == config.KeyAccount && acc != nil {
		return acc.idBytes
	}
	if r.claims != nil && len(st.limitKey) > 4 && st.limitKey[:4] == "jwt." {
		if v, ok := r.claims.Claim(st.limitKey[4:]); ok {
			return v
		}
	}
	r.keyBuf = clientIP(r.ctx, st.trusted, r.keyBuf)
	return r.keyBuf
}

// bodyField returns a top-level field of the request's JSON body, parsed
// once per request: strings unquoted, numbers as written (every digit),
// objects and arrays as JSON text, null as absent.
func (r *request) bodyField(name string) ([]byte, bool, error) {
	if r.body == nil {
		r.body = map[string]json.RawMessage{}
		if err := decodeJSON(r.ctx.PostBody(), &r.body); err != nil {
			return nil, false, err
		}
	}
	raw, ok := r.body[name]
	if !ok || string(raw) == "null" {
		return nil, false, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, errBadRequest("body." + name + ": " + err.Error())
		}
		return []byte(s), true, nil
	}
	return raw, true, nil
}
