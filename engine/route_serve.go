package engine

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

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
	encGzip            = []byte("gzip")
	encBrotli          = []byte("br")
	bodyNotFound       = []byte(`{"error":{"code":"not_found","message":"no row matches"}}`)
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
			if v = r.ctx.Request.Header.PeekBytes(p.nameB); v != nil {
				present = true
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
		e.writeEntry(r, rt, ent, false)
		return nil
	}
	if rt.swr {
		if ent, ok := c.GetStale(key); ok {
			c.Refresh(key, e.fillFunc(rt, vals))
			e.writeEntry(r, rt, ent, true)
			return nil
		}
	}
	ent, _, err := c.Do(context.Background(), key, e.fillFunc(rt, vals))
	if err != nil {
		if errors.Is(err, errTooLargeToCache) {
			return e.runUncached(r, rt, vals)
		}
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
	return func(ctx context.Context) (*cache.Entry, error) {
		ctx, cancel := routeContext(ctx, rt)
		defer cancel()
		body, status, err := e.execRoute(ctx, rt, args, nil, e.streamThreshold())
		if err != nil {
			return nil, err
		}
		return e.cache.NewEntry(rt.id, status, body, rt.ttl, rt.grace), nil
	}
}

var errTooLargeToCache = errors.New("engine: result exceeds cache.stream_threshold_bytes")

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
	ae := ctx.Request.Header.Peek(fasthttp.HeaderAcceptEncoding)
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
	h.SetCanonical(headerVary, valueAcceptEnc)
	h.SetCanonical(headerETag, etag)
	if stale {
		r.buf = strconv.AppendInt(r.buf[:0], int64(ent.Age(time.Now())/time.Second), 10)
		h.SetCanonical(headerAge, r.buf)
	}
	if inm := ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch); len(inm) > 0 && bytes.Contains(inm, etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	if enc != nil {
		h.SetContentEncodingBytes(enc)
	}
	ctx.SetStatusCode(ent.Status)
	ctx.Response.SetBodyRaw(body)
}

// runUncached executes the route for this request alone; a large `many`
// result streams instead of being buffered.
func (e *Engine) runUncached(r *request, rt *route, vals *routeValues) error {
	ctx, cancel := routeContext(context.Background(), rt)
	defer cancel()
	args := vals.v[:vals.n]
	body, status, err := e.execRoute(ctx, rt, args, r.ctx.Response.Body()[:0], 0)
	if err != nil {
		return err
	}
	r.ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	r.ctx.Response.Header.SetCanonical(headerCacheControl, rt.cacheControl)
	r.ctx.SetStatusCode(status)
	r.ctx.Response.SetBodyRaw(body)
	return nil
}

// execRoute runs the route's prepared statement on a pooled connection
// and encodes the result as the route's result kind. The route's settings
// and timeout travel in the same pipeline as the query, inside the same
// implicit transaction: one round trip either way. limit > 0 makes a
// result larger than limit bytes an errTooLargeToCache.
func (e *Engine) execRoute(ctx context.Context, rt *route, args [][]byte, dst []byte, limit int) ([]byte, int, error) {
	start := time.Now()
	conn, err := rt.db.pool.Acquire(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Release()
	pc := conn.PgConn()
	if err := ensureRoutePrepared(ctx, pc, rt); err != nil {
		return nil, 0, err
	}
	var rr *pgconn.ResultReader
	var p *pgconn.Pipeline
	if rt.settings == "" {
		rr = pc.ExecPrepared(ctx, rt.stmt, args, nil, rt.formats)
	} else {
		p = pc.StartPipeline(ctx)
		p.SendQueryParams(rt.settings, nil, nil, nil, nil)
		p.SendQueryPrepared(rt.stmt, args, nil, rt.formats)
		p.SendPipelineSync()
		if err := p.Flush(); err != nil {
			p.Close()
			return nil, 0, err
		}
		if res, err := p.GetResults(); err != nil {
			p.Close()
			return nil, 0, err
		} else if set, ok := res.(*pgconn.ResultReader); ok {
			if _, err := set.Close(); err != nil {
				p.Close()
				return nil, 0, err
			}
		}
		res, err := p.GetResults()
		if err != nil {
			p.Close()
			return nil, 0, err
		}
		rr, _ = res.(*pgconn.ResultReader)
		if rr == nil {
			p.Close()
			return nil, 0, errors.New("BUG: route pipeline returned no result")
		}
	}
	body, status, err := rt.encode(rr, dst, limit)
	if _, cerr := rr.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if p != nil {
		if cerr := p.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	rt.db.pool.Observe(time.Since(start))
	if err != nil {
		return nil, 0, err
	}
	return body, status, nil
}

// encode writes the rows of rr as the route's result kind.
func (rt *route) encode(rr *pgconn.ResultReader, dst []byte, limit int) ([]byte, int, error) {
	var err error
	switch rt.result {
	case config.ResultMany:
		dst = append(dst, '[')
		n := 0
		for rr.NextRow() {
			if n > 0 {
				dst = append(dst, ',')
			}
			if dst, err = rt.plan.AppendObject(dst, rr.Values()); err != nil {
				return nil, 0, err
			}
			n++
			if limit > 0 && len(dst) > limit {
				return nil, 0, errTooLargeToCache
			}
		}
		return append(dst, ']'), 200, nil
	case config.ResultValue:
		if !rr.NextRow() {
			return append(dst, bodyNotFound...), 404, nil
		}
		dst, err = rt.plan.AppendValue(dst, 0, rr.Values()[0])
	default: // one
		if !rr.NextRow() {
			return append(dst, bodyNotFound...), 404, nil
		}
		dst, err = rt.plan.AppendObject(dst, rr.Values())
	}
	if err != nil {
		return nil, 0, err
	}
	for rr.NextRow() {
		// Read past extra rows: the statement must complete.
	}
	return dst, 200, nil
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
