package engine

import (
	"context"
	"time"

	"github.com/pgfast/pgfast/sqlexec"
)

// sqlBackend answers a declared route with its compiled statement.
type sqlBackend struct {
	e    *Engine
	stmt *sqlexec.Statement
	name string // the route's, for logs
	// many results may be large: past cache.stream_threshold_bytes they
	// stream instead of being buffered whole.
	many bool
}

var bodyNotFound = []byte(`{"error":{"code":"not_found","message":"no row matches"}}`)

// fill copies the request's parameter values for a fetch.
func (b *sqlBackend) fill(r *request) fetchFunc {
	vals := r.values.args()
	args := make([][]byte, len(vals))
	for i, v := range vals {
		if v != nil {
			args[i] = append([]byte{}, v...)
		}
	}
	return func(ctx context.Context, limit int) (fetched, error) { return b.fetch(ctx, args, limit) }
}

// fetch runs the statement and encodes its whole result (for the cache).
// Only a `many` result can be too large to cache: a `one` or `value`
// result is one row, cached whatever its size, and its fill may share a
// pipelined run with other requests for the route (sqlexec's coalescing).
func (b *sqlBackend) fetch(ctx context.Context, args [][]byte, limit int) (fetched, error) {
	if !b.many {
		f, err := b.stmt.Fetch(ctx, args, nil)
		switch {
		case err != nil:
			return fetched{}, err
		case f.NoRows:
			return fetched{status: 404, contentType: contentTypeJSON, body: append(f.Body, bodyNotFound...)}, nil
		}
		return fetched{status: 200, contentType: contentTypeJSON, body: f.Body}, nil
	}
	x, err := b.stmt.Run(ctx, args)
	if err != nil {
		return fetched{}, err
	}
	body, done, err := x.Fill(nil, limit)
	x.Release(err)
	switch {
	case err != nil:
		return fetched{}, err
	case !done:
		return fetched{}, errTooLargeToCache
	}
	return fetched{status: 200, contentType: contentTypeJSON, body: body}, nil
}

// serve runs the statement for this request alone, encoding into
// fasthttp's pooled body buffer. A `many` result larger than
// cache.stream_threshold_bytes streams (chunked): its rows are read into a
// spool at the database's pace, so the connection goes back as soon as the
// result is read however slowly the client takes it.
//
// Server-Timing: acquire is the wait for a connection, db the statement up
// to PostgreSQL's first result message (Run), encode the reading and
// encoding of the rows (Fill: rowcodec runs as rows arrive); a streamed
// result's encode covers its first chunk only.
func (b *sqlBackend) serve(r *request) error {
	if !b.many {
		return b.serveWhole(r)
	}
	t := time.Now()
	x, err := b.stmt.Run(context.Background(), r.values.args())
	if err != nil {
		r.timed(stageDB, t)
		return err
	}
	now := time.Now()
	r.timing.add(stageAcquire, x.AcquireWait(), t.Add(x.AcquireWait()))
	r.timing.add(stageDB, now.Sub(t)-x.AcquireWait(), now)
	t = now
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	body, done, err := x.Fill(r.ctx.Response.SwapBody(nil)[:0], b.e.streamThreshold())
	r.timed(stageEncode, t)
	if err == nil && !done {
		return b.e.startStream(r, body, x, x.Canceler(), "route", b.name)
	}
	noRows := x.NoRows()
	x.Release(err)
	if err != nil {
		return err
	}
	if noRows {
		r.ctx.SetStatusCode(404)
		body = append(body, bodyNotFound...)
	}
	r.ctx.Response.SwapBody(body)
	r.dynamic = true
	return nil
}

// serveWhole answers a `one` or `value` route: one row, read whole, maybe
// in a run pipelined with other requests for the route waiting for a
// connection (sqlexec's coalescing). Its Server-Timing db covers the
// statement and the encoding of its row.
func (b *sqlBackend) serveWhole(r *request) error {
	t := time.Now()
	f, err := b.stmt.Fetch(context.Background(), r.values.args(), r.ctx.Response.SwapBody(nil)[:0])
	now := time.Now()
	r.timing.add(stageAcquire, f.AcquireWait, t.Add(f.AcquireWait))
	r.timing.add(stageDB, now.Sub(t)-f.AcquireWait, now)
	if err != nil {
		r.ctx.Response.SwapBody(f.Body[:0])
		return err
	}
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	body := f.Body
	if f.NoRows {
		r.ctx.SetStatusCode(404)
		body = append(body, bodyNotFound...)
	}
	r.ctx.Response.SwapBody(body)
	r.dynamic = true
	return nil
}
