package engine

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/pool"
)

// Running a route's statement: one execution on a pooled connection
// (routeExec), encoded whole for the cache and small results (execRoute),
// or read chunk by chunk into a spool for a large `many` result
// (rowsStream, see streambody.go).

// rowsStream is a large `many` result being read for a streamed body
// (streamBody's rowSource).
type rowsStream struct {
	x      *routeExec
	cancel context.CancelFunc
	n      int // rows encoded so far
	done   bool
}

// fill encodes rows into dst until it holds limit bytes or the result
// ends; at the end the connection is released before the closing bracket
// is even appended.
func (s *rowsStream) fill(dst []byte, limit int) ([]byte, bool, error) {
	for s.x.rr.NextRow() {
		if s.n > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = s.x.rt.plan.AppendObject(dst, s.x.rr.Values()); err != nil {
			return dst, false, err
		}
		s.n++
		if len(dst) >= limit {
			return dst, false, nil
		}
	}
	s.done = true
	if err := s.x.finish(); err != nil {
		return dst, false, err
	}
	return append(dst, ']'), true, nil
}

// release stops the statement if the result was not read to its end and
// gives the connection back.
func (s *rowsStream) release(error) {
	if !s.done {
		s.cancel()
	}
	s.x.finish()
	s.cancel()
}

// routeExec is one execution of a route's statement: the connection it
// holds and the result being read.
type routeExec struct {
	rt    *route
	conn  *pool.Conn
	rr    *pgconn.ResultReader
	p     *pgconn.Pipeline
	start time.Time
}

// startRoute runs the route's prepared statement on a pooled connection.
// The route's settings and timeout travel in the same pipeline as the
// query, inside the same implicit transaction: one round trip either way.
func startRoute(ctx context.Context, rt *route, args [][]byte) (*routeExec, error) {
	x := &routeExec{rt: rt, start: time.Now()}
	conn, err := rt.db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	x.conn = conn
	pc := conn.PgConn()
	if rt.describeOnly {
		// statement_cache: describe (PgBouncer in transaction mode): no
		// named statement may outlive the transaction, so the statement is
		// parsed unnamed in the same message train, with the parameter
		// types and result formats known since compilation. Still one round trip.
		if rt.settings == "" {
			x.rr = pc.ExecParams(ctx, rt.cfg.SQL, args, rt.paramOIDs, nil, rt.formats)
			return x, nil
		}
	} else if err := ensureRoutePrepared(ctx, pc, rt); err != nil {
		x.finish()
		return nil, err
	} else if rt.settings == "" {
		x.rr = pc.ExecPrepared(ctx, rt.stmt, args, nil, rt.formats)
		return x, nil
	}
	x.p = pc.StartPipeline(ctx)
	x.p.SendQueryParams(rt.settings, nil, nil, nil, nil)
	if rt.describeOnly {
		x.p.SendQueryParams(rt.cfg.SQL, args, rt.paramOIDs, nil, rt.formats)
	} else {
		x.p.SendQueryPrepared(rt.stmt, args, nil, rt.formats)
	}
	x.p.SendPipelineSync()
	if err := x.p.Flush(); err != nil {
		x.finish()
		return nil, err
	}
	res, err := x.p.GetResults()
	if err == nil {
		if set, ok := res.(*pgconn.ResultReader); ok {
			_, err = set.Close()
		}
	}
	if err == nil {
		res, err = x.p.GetResults()
	}
	if err != nil {
		x.finish()
		return nil, err
	}
	if x.rr, _ = res.(*pgconn.ResultReader); x.rr == nil {
		x.finish()
		return nil, errors.New("BUG: route pipeline returned no result")
	}
	return x, nil
}

// cancelQuery asks the server to stop the running statement; finish then
// reads the cancellation instead of the remaining rows.
func (x *routeExec) cancelQuery() {
	if x.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = x.conn.PgConn().CancelRequest(ctx)
}

// finish completes the statement, releases the connection and records the
// query's duration; it returns the first error the server reported.
func (x *routeExec) finish() error {
	var err error
	if x.rr != nil {
		_, err = x.rr.Close()
		x.rr = nil
	}
	if x.p != nil {
		if cerr := x.p.Close(); err == nil {
			err = cerr
		}
		x.p = nil
	}
	if x.conn != nil {
		x.rt.db.pool.Observe(time.Since(x.start))
		x.conn.Release()
		x.conn = nil
	}
	return err
}

// execRoute runs the route and encodes its whole result. limit > 0 makes a
// result larger than limit bytes an errTooLargeToCache.
func (e *Engine) execRoute(ctx context.Context, rt *route, args [][]byte, dst []byte, limit int) ([]byte, int, error) {
	x, err := startRoute(ctx, rt, args)
	if err != nil {
		return nil, 0, err
	}
	body, status, err := rt.encode(x.rr, dst, limit)
	if errors.Is(err, errTooLargeToCache) {
		// Stop the statement rather than read the rest of a result we
		// will not use.
		x.cancelQuery()
	}
	if ferr := x.finish(); err == nil {
		err = ferr
	}
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
