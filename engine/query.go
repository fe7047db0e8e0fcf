package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/pgfast/pgfast/sqlexec"
)

// queryRequest is the body of POST /v1/query (pg-api's shape).
type queryRequest struct {
	Query    string `json:"query"`
	Params   []any  `json:"params"`
	Database string `json:"database"`
	Format   string `json:"format"`
}

// streamChunk is how much encoded JSON a /v1/query handler buffers before
// it switches to a streamed body (streambody.go): results up to this size
// are answered whole, as cheaply as any small body.
const streamChunk = 256 << 10

// serveQuery is POST /v1/query: one statement of the calling account,
// checked against its allowed operations, run on its pool, cancelled if
// the client hangs up, audited once it ends.
func (e *Engine) serveQuery(r *request) error {
	run := &queryRun{e: e, acc: r.acc}
	q := &run.q
	if err := decodeJSON(r.ctx.PostBody(), q); err != nil {
		return err
	}
	if err := checkRequestShape(run.acc, q.Database, q.Format); err != nil {
		return err
	}
	if err := checkStatement(run.acc, q.Query); err != nil {
		e.auditQuery(run.acc, q.Query, q.Params, 0, 0, err)
		return err
	}
	start := time.Now()
	x, err := run.acc.sql.Start(context.Background())
	if err != nil {
		e.auditQuery(run.acc, q.Query, q.Params, time.Since(start), 0, err)
		return err
	}
	run.stopWatch = watchDisconnect(r.ctx, x.Canceler())
	x.Observer = run
	enc := sqlexec.Encoding{Shape: sqlexec.Set, Arrays: q.Format == "array", MaxRows: run.acc.cfg.MaxRows, Duration: true}
	if err := x.Query(q.Query, q.Params, enc); err != nil {
		x.Release(err)
		return err
	}
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	// Encode into fasthttp's pooled body buffer (STYLE §9): taken here,
	// handed back with SwapBody, reused by the next response.
	body, done, err := x.Fill(r.ctx.Response.SwapBody(nil)[:0], streamChunk)
	if err == nil && !done {
		// Larger than streamChunk: the rest is read into a spool at the
		// database's pace while the body streams (chunked), so the
		// connection goes back as soon as the result is read.
		return e.startStream(r, body, x, x.Canceler(), "account", run.acc.cfg.ID)
	}
	x.Release(err)
	if err != nil {
		return err
	}
	r.ctx.Response.SwapBody(body)
	r.dynamic = true
	return nil
}

// queryRun is one /v1/query execution, which may outlive the handler when
// its body streams: Released stops the disconnect watcher and writes the
// audit line, once.
type queryRun struct {
	e         *Engine
	acc       *account
	q         queryRequest
	stopWatch func()
}

func (run *queryRun) Released(rows int64, took time.Duration, err error) {
	run.stopWatch()
	run.e.auditQuery(run.acc, run.q.Query, run.q.Params, took, rows, err)
}

// checkRequestShape validates the optional database and format fields.
func checkRequestShape(acc *account, database, format string) error {
	if database != "" && database != acc.db.name && !acc.answersTo(database) {
		return errForbidden(fmt.Sprintf("account %s may only query database %q", acc.cfg.ID, acc.db.name))
	}
	switch format {
	case "", "object", "array":
		return nil
	}
	return errBadRequest(fmt.Sprintf("format %q is not supported; use \"object\" (default) or \"array\"", format))
}
