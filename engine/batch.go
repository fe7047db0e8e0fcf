package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/rowcodec"
)

// maxBatchQueries bounds one /v1/batch request (DESIGN §4).
const maxBatchQueries = 1000

// maxBatchBytes bounds a batch's encoded results: a batch is answered
// whole (its results and errors are known only at the end), so unlike
// /v1/query it cannot stream, and memory must stay bounded. Across
// requests, the results also hold server.max_inflight_response_bytes
// budget (reserveBatch).
const maxBatchBytes = 64 << 20

// batchBudgetStep is how much budget a growing batch takes at a time: a
// CAS per 64 KiB of results, not per row.
const batchBudgetStep = 64 << 10

type batchQuery struct {
	Query  string `json:"query"`
	Params []any  `json:"params"`
}

type batchRequest struct {
	Queries     []batchQuery `json:"queries"`
	Transaction bool         `json:"transaction"`
	Database    string       `json:"database"`
	Format      string       `json:"format"`
}

// serveBatch runs up to 1000 statements in one pipelined round trip (plus
// one more, pipelined too, to prepare statements this connection has not
// seen). transaction:false gives every statement its own Sync, so each is
// its own implicit transaction and one failure touches no other;
// transaction:true sends a single Sync, so PostgreSQL runs them as one
// implicit transaction: all committed, or none.
func (e *Engine) serveBatch(r *request) error {
	acc, err := r.st.authenticate(r)
	if err != nil {
		return err
	}
	if err := limitAccount(r, acc); err != nil {
		return err
	}
	var b batchRequest
	if err := decodeJSON(r.ctx.PostBody(), &b); err != nil {
		return err
	}
	switch n := len(b.Queries); {
	case n == 0:
		return errBadRequest("queries is empty")
	case n > maxBatchQueries:
		return errBadRequest(fmt.Sprintf("a batch holds at most %d queries; got %d", maxBatchQueries, n))
	}
	if err := checkRequestShape(acc, b.Database, b.Format); err != nil {
		return err
	}
	start := time.Now()
	n := len(b.Queries)
	errs := make([]error, n)
	sqls := make([]string, n)
	for i, q := range b.Queries {
		if err := checkStatement(acc, q.Query); err != nil {
			if b.Transaction {
				e.auditQuery(acc, q.Query, q.Params, 0, 0, err)
				return withIndex(err, i)
			}
			// A refused statement never reaches PostgreSQL, not even to
			// be prepared: its sqls slot stays "" (describeAll skips it).
			errs[i] = err
			continue
		}
		sqls[i] = q.Query
	}
	// Every statement of a batch that fails as a whole is audited with
	// the batch's error.
	auditAll := func(err error) error {
		for i, q := range b.Queries {
			if errs[i] == nil {
				e.auditQuery(acc, q.Query, q.Params, time.Since(start), 0, err)
			}
		}
		return err
	}
	ctx, cancel := queryContext(acc)
	defer cancel()
	conn, err := acc.pool.Acquire(ctx)
	if err != nil {
		return auditAll(err)
	}
	defer conn.Release()
	stop := watchDisconnect(r.ctx, cancel)
	defer stop()
	pc := conn.PgConn()

	// Round trip 1 (only for statements new to this connection).
	sds := make([]*pgconn.StatementDescription, n)
	prepErrs := make([]error, n)
	describeOnly := acc.db.cfg.StatementCache == config.StatementCacheDescribe
	if err := describeAll(ctx, pc, sqls, sds, prepErrs, describeOnly); err != nil {
		return auditAll(err)
	}
	types := acc.db.types
	params := make([][][]byte, n)
	formats := make([][]int16, n)
	for i, q := range b.Queries {
		if errs[i] == nil {
			errs[i] = prepErrs[i]
		}
		if errs[i] != nil {
			continue
		}
		sd := sds[i]
		if params[i], errs[i] = encodeParams(nil, q.Params, sd.ParamOIDs); errs[i] != nil {
			continue
		}
		oids := make([]uint32, len(sd.Fields))
		for j, f := range sd.Fields {
			oids[j] = f.DataTypeOID
		}
		if err := types.Load(ctx, pc, oids...); err != nil {
			return auditAll(fmt.Errorf("cannot load column types: %w", err))
		}
		formats[i] = types.Formats(nil, oids)
	}
	if b.Transaction {
		for i, err := range errs {
			if err != nil {
				e.auditQuery(acc, sqls[i], b.Queries[i].Params, time.Since(start), 0, err)
				return withIndex(err, i)
			}
		}
	}

	// Round trip 2: every statement, pipelined. items mirrors what was sent,
	// so each result, error and Sync is matched to its statement.
	p := pc.StartPipeline(ctx)
	var items []batchItem
	sendQuery := func(i int) {
		if describeOnly {
			p.SendQueryParams(sqls[i], params[i], sds[i].ParamOIDs, nil, formats[i])
		} else {
			p.SendQueryStatement(sds[i], params[i], nil, formats[i])
		}
		items = append(items, batchItem{kind: itemQuery, query: i})
	}
	last := -1
	for i := range b.Queries {
		if errs[i] != nil {
			continue
		}
		if !b.Transaction {
			if acc.readOnly {
				// Each statement is its own transaction here: pin it read-only
				// whatever an earlier statement did to the session's default.
				p.SendQueryParams("SET TRANSACTION READ ONLY", nil, nil, nil, nil)
				items = append(items, batchItem{kind: itemGuard, query: i})
			}
			sendQuery(i)
			p.SendPipelineSync()
			items = append(items, batchItem{kind: itemSync, query: i})
			continue
		}
		sendQuery(i)
		last = i
	}
	if b.Transaction {
		p.SendPipelineSync()
		items = append(items, batchItem{kind: itemSync, query: last})
	}
	if err := p.Flush(); err != nil {
		p.Close()
		return auditAll(err)
	}
	out := r.ctx.Response.SwapBody(nil)[:0] // fasthttp's pooled buffer, handed back below
	out = append(out, `{"results":[`...)
	results := make([][]byte, n)
	rowsOf := make([]int64, n)
	opts := sessionOptions(pc, types)
	plans := map[*pgconn.StatementDescription]*rowcodec.Plan{}
	total := 0 // encoded result bytes so far
	held := e.holdBudget(r)
	for c := 0; c < len(items); {
		it := items[c]
		res, err := p.GetResults()
		if res == nil && err == nil {
			break // pipeline drained
		}
		if err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				p.Close()
				return err
			}
			// An error on a statement, its guard, or at the Sync (a deferred
			// constraint or a serialization failure at commit) belongs to the
			// statement; the server skips the rest of the group up to its
			// Sync, whose result comes next.
			if it.query >= 0 && errs[it.query] == nil {
				errs[it.query] = err
			}
			for c < len(items) && items[c].kind != itemSync {
				if q := items[c].query; items[c].kind == itemQuery && errs[q] == nil {
					errs[q] = errSkipped
				}
				c++
			}
			continue
		}
		switch res := res.(type) {
		case *pgconn.PipelineSync:
			c++
		case *pgconn.ResultReader:
			c++
			if it.kind != itemQuery {
				res.Close()
				continue
			}
			i := it.query
			plan := plans[sds[i]]
			if plan == nil {
				if plan, err = rowcodec.NewPlan(res.FieldDescriptions(), opts); err != nil {
					res.Close()
					errs[i] = err
					continue
				}
				plans[sds[i]] = plan
			}
			rs := resultSet{plan: plan, asArray: b.Format == "array", maxRows: acc.cfg.MaxRows}
			buf := rs.appendHead(nil)
			var encErr error
			for res.NextRow() && encErr == nil {
				buf, _, encErr = rs.appendRow(buf, res.Values())
				if err := e.reserveBatch(held, total+len(buf), total+len(buf)); err != nil {
					res.Close()
					p.Close()
					return err
				}
			}
			if _, err := res.Close(); err != nil {
				// The statement failed while its rows were read: the
				// error also ends the group, like one returned directly.
				var pgErr *pgconn.PgError
				if !errors.As(err, &pgErr) {
					p.Close()
					return err
				}
				errs[i] = err
				for c < len(items) && items[c].kind != itemSync {
					if q := items[c].query; items[c].kind == itemQuery && errs[q] == nil {
						errs[q] = errSkipped
					}
					c++
				}
				continue
			}
			if encErr != nil {
				errs[i] = encErr
				continue
			}
			results[i] = append(rs.appendTail(buf), '}')
			total += len(results[i])
			rowsOf[i] = rs.rows
		}
	}
	if !describeOnly {
		for i, err := range errs {
			if err != nil {
				forget(pc, sqls[i], err)
			}
		}
	}
	if b.Transaction {
		// A failed transactional batch committed nothing: what ran before
		// the failure was rolled back with it.
		failed := false
		for _, err := range errs {
			failed = failed || err != nil
		}
		if failed {
			for i := range errs {
				if errs[i] == nil {
					errs[i] = errSkipped
				}
			}
		}
	}
	if err := p.Close(); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			return err
		}
	}
	d := time.Since(start)
	acc.pool.Observe(d)
	for i, q := range b.Queries {
		e.auditQuery(acc, q.Query, q.Params, d, rowsOf[i], errs[i])
	}
	if b.Transaction {
		for i, err := range errs {
			if err != nil && err != errSkipped {
				return withIndex(err, i)
			}
		}
	}
	// The results are copied once into the body: both exist until the
	// copy is done.
	if err := e.reserveBatch(held, total, 2*total); err != nil {
		return err
	}
	for i := range b.Queries {
		if i > 0 {
			out = append(out, ',')
		}
		if errs[i] != nil {
			out = appendErrorBody(out, errorFrom(errs[i]))
			continue
		}
		out = append(out, results[i]...)
	}
	out = append(out, ']')
	out = appendDurationMS(out, d)
	out = append(out, '}')
	held.shrink(int64(len(out)))
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	r.ctx.Response.SwapBody(out)
	r.dynamic = true
	return nil
}

// batchItem is one thing sent in a batch pipeline.
type batchItem struct {
	kind  uint8
	query int // the statement it belongs to; -1 for none
}

const (
	itemQuery = iota
	itemGuard // SET TRANSACTION READ ONLY before a read-only account's statement
	itemSync
)

// errSkipped marks statements of a failed transactional batch that the
// server never ran.
var errSkipped = errors.New("engine: skipped after an earlier failure in the transaction")

// withIndex attaches a batch position to an error.
func withIndex(err error, i int) *Error {
	he := *errorFrom(err)
	he.Index = &i
	return &he
}

// holdBudget registers the request's share of server.max_inflight_response_bytes
// on its context: fasthttp closes it when it resets the context, after the
// body went out, so the budget covers the response until it is written.
func (e *Engine) holdBudget(r *request) *heldBudget {
	h := &heldBudget{b: &e.inflight}
	r.ctx.SetUserValue(heldBudgetKey, h)
	return h
}

const heldBudgetKey = "pgfast.heldBudget"

// reserveBatch checks a batch's results bytes so far and makes held cover
// hold bytes: results past maxBatchBytes make the batch too large (413),
// hold past the process-wide budget means the server is busy with other
// responses (503, retry shortly).
func (e *Engine) reserveBatch(held *heldBudget, results, hold int) error {
	if results > maxBatchBytes {
		return &Error{Status: 413, Code: codeTooLarge, Message: fmt.Sprintf("batch results exceed %d MiB; split the batch or lower the account's max_rows", maxBatchBytes>>20)}
	}
	if !held.grow(int64(hold), batchBudgetStep, e.inflightMax()) {
		e.streamCounters.rejected.Add(1)
		return &Error{Status: 503, Code: codeUnavailable, RetryAfter: batchBudgetRetry,
			Message: "responses in flight hold server.max_inflight_response_bytes; retry the batch shortly or split it"}
	}
	return nil
}
