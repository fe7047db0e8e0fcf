package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pgfast/pgfast/sqlexec"
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

// serveBatch is POST /v1/batch: up to 1000 statements in one pipelined
// round trip (plus one more, pipelined too, to prepare statements the
// connection has not seen). transaction:false gives every statement its
// own implicit transaction, so one failure touches no other;
// transaction:true runs them as one: all committed, or none.
func (e *Engine) serveBatch(r *request) (err error) {
	acc := r.acc
	b, err := decodeBatch(r, acc)
	if err != nil {
		return err
	}
	items, err := e.batchItems(acc, b)
	if err != nil {
		return err
	}
	held := e.holdBudget(r)
	defer func() {
		if err != nil {
			held.shrink(0) // an error body is small: give the results' budget back now
		}
	}()
	took, err := e.runBatch(r, acc, items, sqlexec.BatchOptions{
		Transaction: b.Transaction,
		Encoding:    sqlexec.Encoding{Arrays: b.Format == "array", MaxRows: acc.cfg.MaxRows},
		Budget:      held,
	})
	if errors.Is(err, sqlexec.ErrNotSent) {
		i := firstFailed(items)
		e.auditQuery(acc, items[i].SQL, items[i].Params, took, 0, items[i].Err)
		return withIndex(items[i].Err, i)
	}
	for i := range items {
		outcome := items[i].Err
		if outcome == nil {
			outcome = err // the batch failed as a whole
		}
		e.auditQuery(acc, items[i].SQL, items[i].Params, took, items[i].Rows, outcome)
	}
	if err != nil {
		return err
	}
	if b.Transaction {
		for i := range items {
			if items[i].Err != nil && items[i].Err != sqlexec.ErrSkipped {
				return withIndex(items[i].Err, i)
			}
		}
	}
	return e.writeBatch(r, held, items, took)
}

// runBatch runs the batch on one of the account's connections, cancelled
// if the client hangs up. took counts from before the acquire.
func (e *Engine) runBatch(r *request, acc *account, items []sqlexec.BatchItem, o sqlexec.BatchOptions) (took time.Duration, err error) {
	start := time.Now()
	x, err := acc.sql.Start(context.Background())
	if err != nil {
		return time.Since(start), err
	}
	stop := watchDisconnect(r.ctx, x.Canceler())
	_, err = x.Batch(items, o)
	stop()
	x.Release(nil)
	return time.Since(start), err
}

// decodeBatch reads and checks the request body.
func decodeBatch(r *request, acc *account) (*batchRequest, error) {
	var b batchRequest
	if err := decodeJSON(r.ctx.PostBody(), &b); err != nil {
		return nil, err
	}
	switch n := len(b.Queries); {
	case n == 0:
		return nil, errBadRequest("queries is empty")
	case n > maxBatchQueries:
		return nil, errBadRequest(fmt.Sprintf("a batch holds at most %d queries; got %d", maxBatchQueries, n))
	}
	if err := checkRequestShape(acc, b.Database, b.Format); err != nil {
		return nil, err
	}
	return &b, nil
}

// batchItems checks every statement against the account. A refused
// statement is never sent to PostgreSQL, not even to be prepared; in a
// transactional batch it fails the whole batch at once.
func (e *Engine) batchItems(acc *account, b *batchRequest) ([]sqlexec.BatchItem, error) {
	items := make([]sqlexec.BatchItem, len(b.Queries))
	for i, q := range b.Queries {
		items[i] = sqlexec.BatchItem{SQL: q.Query, Params: q.Params}
		if err := checkStatement(acc, q.Query); err != nil {
			if b.Transaction {
				e.auditQuery(acc, q.Query, q.Params, 0, 0, err)
				return nil, withIndex(err, i)
			}
			items[i].Err = err
		}
	}
	return items, nil
}

// writeBatch writes {"results":[…],"duration_ms":…}: each statement's
// result or its error, in order.
func (e *Engine) writeBatch(r *request, held *batchBudget, items []sqlexec.BatchItem, took time.Duration) error {
	total := 0
	for i := range items {
		total += len(items[i].Result)
	}
	// The results are copied once into the body: both exist until the
	// copy is done.
	if err := e.reserveBatch(&held.heldBudget, total, 2*total); err != nil {
		return err
	}
	out := r.ctx.Response.SwapBody(nil)[:0] // fasthttp's pooled buffer, handed back below
	out = append(out, `{"results":[`...)
	for i := range items {
		if i > 0 {
			out = append(out, ',')
		}
		if items[i].Err != nil {
			out = appendErrorBody(out, errorFrom(items[i].Err))
			continue
		}
		out = append(out, items[i].Result...)
	}
	out = append(out, ']')
	out = sqlexec.AppendDurationMS(out, took)
	out = append(out, '}')
	held.shrink(int64(len(out)))
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	r.ctx.Response.SwapBody(out)
	r.dynamic = true
	return nil
}

func firstFailed(items []sqlexec.BatchItem) int {
	for i := range items {
		if items[i].Err != nil {
			return i
		}
	}
	return 0
}

// withIndex attaches a batch position to an error.
func withIndex(err error, i int) *Error {
	he := *errorFrom(err)
	he.Index = &i
	return &he
}

// holdBudget registers the request's share of server.max_inflight_response_bytes
// on its context: fasthttp closes it when it resets the context, after the
// body went out, so the budget covers the response until it is written.
func (e *Engine) holdBudget(r *request) *batchBudget {
	h := &batchBudget{heldBudget: heldBudget{b: &e.inflight}, e: e}
	r.ctx.SetUserValue(heldBudgetKey, h)
	return h
}

// batchBudget is a batch's held budget as sqlexec asks it: before the
// results grow to n bytes.
type batchBudget struct {
	heldBudget
	e *Engine
}

func (h *batchBudget) Reserve(n int) error { return h.e.reserveBatch(&h.heldBudget, n, n) }

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
