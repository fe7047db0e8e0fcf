package engine

import (
	"bytes"
	"context"
	"fmt"
	"time"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/rowcodec"
)

// queryRequest is the body of POST /v1/query (pg-api's shape).
type queryRequest struct {
	Query    string `json:"query"`
	Params   []any  `json:"params"`
	Database string `json:"database"`
	Format   string `json:"format"`
}

// decodeJSON parses a request body strictly enough to reject what is not
// JSON, keeping numbers as their decimal text (json.Number) so that
// 12345678901234567890 reaches PostgreSQL with every digit.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadRequest("request body is empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("request body is not valid JSON: " + err.Error())
	}
	if dec.More() {
		return errBadRequest("request body holds more than one JSON value")
	}
	return nil
}

func (e *Engine) serveQuery(r *request) error {
	acc, err := r.st.authenticate(r)
	if err != nil {
		return err
	}
	if err := limitAccount(r, acc); err != nil {
		return err
	}
	var q queryRequest
	if err := decodeJSON(r.ctx.PostBody(), &q); err != nil {
		return err
	}
	if err := checkRequestShape(acc, q.Database, q.Format); err != nil {
		return err
	}
	if err := checkStatement(acc, q.Query); err != nil {
		e.auditQuery(acc, q.Query, q.Params, 0, 0, err)
		return err
	}
	start := time.Now()
	qctx, cancel := queryContext(acc)
	conn, err := acc.pool.Acquire(qctx)
	if err != nil {
		cancel()
		e.auditQuery(acc, q.Query, q.Params, time.Since(start), 0, err)
		return err
	}
	stopWatch := watchDisconnect(r.ctx, cancel)
	run := &queryRun{e: e, acc: acc, conn: conn, cancel: cancel, stopWatch: stopWatch, q: q, start: start, ctx: qctx}
	// Encode into fasthttp's pooled body buffer (STYLE §9): taken here,
	// handed back with SwapBody, reused by the next response.
	body, done, err := run.begin(r.ctx.Response.SwapBody(nil)[:0])
	if err != nil && forget(conn.PgConn(), q.Query, err) {
		// The schema changed under a statement this connection had
		// prepared: prepare it again, once.
		run.rr, run.done, run.rs = nil, false, resultSet{}
		body, done, err = run.begin(body[:0])
	}
	if err != nil {
		run.finish(err)
		return err
	}
	r.ctx.SetContentTypeBytes(contentTypeJSON)
	if done {
		r.ctx.Response.SwapBody(body)
		run.finish(nil)
		r.dynamic = true
		return nil
	}
	// The result is larger than streamChunk: the rest is read into a spool
	// at the database's pace while the body streams (chunked), so the
	// connection goes back as soon as the result is read.
	return e.startStream(r, body, run, cancel, "account", acc.cfg.ID)
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

// queryContext bounds a query by the account's timeout plus a margin: the
// server's statement_timeout fires first (504 with SQLSTATE 57014); the
// context is the backstop for a server that does not answer at all.
func queryContext(acc *account) (context.Context, context.CancelFunc) {
	if t := acc.poolCfg.StatementTimeout; t > 0 {
		return context.WithTimeout(context.Background(), t+2*time.Second)
	}
	return context.WithCancel(context.Background())
}

// streamChunk is how much encoded JSON a /v1/query handler buffers before
// it switches to a streamed body (streambody.go): results up to this size
// are answered whole, as cheaply as any small body.
const streamChunk = 256 << 10

// queryRun is one /v1/query execution, which may outlive the handler when
// its body streams.
type queryRun struct {
	e         *Engine
	acc       *account
	conn      *pool.Conn
	ctx       context.Context
	cancel    context.CancelFunc
	stopWatch func()
	q         queryRequest
	start     time.Time
	rs        resultSet
	rr        *pgconn.ResultReader
	done      bool
}

// begin prepares (or finds) the statement, binds the params, starts the
// result and encodes rows until the result ends or streamChunk bytes are
// buffered.
func (run *queryRun) begin(dst []byte) ([]byte, bool, error) {
	pc := run.conn.PgConn()
	describeOnly := run.acc.db.cfg.StatementCache == config.StatementCacheDescribe
	sd, err := describe(run.ctx, pc, run.q.Query, describeOnly)
	if err != nil {
		return nil, false, err
	}
	params, err := encodeParams(make([][]byte, 0, len(sd.ParamOIDs)), run.q.Params, sd.ParamOIDs)
	if err != nil {
		return nil, false, err
	}
	types := run.acc.db.types
	oids := make([]uint32, len(sd.Fields))
	for i, f := range sd.Fields {
		oids[i] = f.DataTypeOID
	}
	if err := types.Load(run.ctx, pc, oids...); err != nil {
		return nil, false, fmt.Errorf("cannot load column types: %w", err)
	}
	formats := types.Formats(make([]int16, 0, len(oids)), oids)
	if describeOnly {
		run.rr = pc.ExecParams(run.ctx, run.q.Query, params, sd.ParamOIDs, nil, formats)
	} else {
		run.rr = pc.ExecPrepared(run.ctx, sd.Name, params, nil, formats)
	}
	plan, err := rowcodec.NewPlan(run.rr.FieldDescriptions(), sessionOptions(pc, types))
	if err != nil {
		return nil, false, err
	}
	run.rs = resultSet{plan: plan, asArray: run.q.Format == "array", maxRows: run.acc.cfg.MaxRows}
	dst = run.rs.appendHead(dst)
	return run.fill(dst, streamChunk)
}

// fill encodes rows into dst until the result ends (done) or dst holds
// limit bytes: the handler's first buffer, then each chunk of a streamed
// result (streamBody's rowSource). Past max_rows the remaining rows are read and dropped: the
// statement must complete for the connection to be reusable, and its
// statement_timeout bounds the cost.
func (run *queryRun) fill(dst []byte, limit int) ([]byte, bool, error) {
	for run.rr.NextRow() {
		var err error
		if dst, _, err = run.rs.appendRow(dst, run.rr.Values()); err != nil {
			return dst, false, err
		}
		if len(dst) >= limit {
			return dst, false, nil
		}
	}
	_, err := run.rr.Close()
	run.done = true
	if err != nil {
		return dst, false, err
	}
	dst = run.rs.appendTail(dst)
	dst = appendDurationMS(dst, time.Since(run.start))
	return append(dst, '}'), true, nil
}

// release ends a streamed result: a statement still running is cancelled
// rather than read to its end, the connection released and the outcome
// audited.
func (run *queryRun) release(err error) {
	if !run.done {
		run.cancel()
	}
	run.finish(err)
}

// finish releases the connection and writes the audit line.
func (run *queryRun) finish(err error) {
	if run.rr != nil && !run.done {
		run.rr.Close()
	}
	run.stopWatch()
	run.cancel()
	d := time.Since(run.start)
	run.acc.pool.Observe(d)
	run.conn.Release()
	run.e.auditQuery(run.acc, run.q.Query, run.q.Params, d, run.rs.rows, err)
}
