package engine

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/pgfast/pgfast/sqlexec"
)

// queryRequest is the body of POST /v1/query (pg-api's shape). Params are
// kept as raw JSON: goccy's Unmarshal decodes them into the memory the
// last request of the pooled queryRun left (Unmarshal has no UseNumber,
// which []any would need), and paramValue turns them into values.
type queryRequest struct {
	Query    string            `json:"query"`
	Params   []json.RawMessage `json:"params"`
	Database string            `json:"database"`
	Format   string            `json:"format"`
}

// streamChunk is how much encoded JSON a /v1/query handler buffers before
// it switches to a streamed body (streambody.go): results up to this size
// are answered whole, as cheaply as any small body.
const streamChunk = 256 << 10

// serveQuery is POST /v1/query: one statement of the calling account,
// checked against its allowed operations, run on its pool, cancelled if
// the client hangs up, audited once it ends.
func (e *Engine) serveQuery(r *request) error {
	run := acquireQueryRun(e, r.acc)
	if err := run.decode(r.ctx.PostBody()); err != nil {
		releaseQueryRun(run)
		return err
	}
	q := &run.q
	if err := checkRequestShape(run.acc, q.Database, q.Format); err != nil {
		releaseQueryRun(run)
		return err
	}
	if err := checkStatement(run.acc, q.Query); err != nil {
		e.auditQuery(run.acc, q.Query, run.args(), 0, 0, err)
		releaseQueryRun(run)
		return err
	}
	start := time.Now()
	x, err := run.acc.sql.Start(context.Background())
	if err != nil {
		e.auditQuery(run.acc, q.Query, run.args(), time.Since(start), 0, err)
		releaseQueryRun(run)
		return err
	}
	// From here on x owns run: Released audits it and puts it back, so
	// neither run nor q may be used after x.Release or startStream.
	run.stopWatch = watchDisconnect(r.ctx, x.Canceler())
	x.Observer = run
	enc := sqlexec.Encoding{Shape: sqlexec.Set, Arrays: q.Format == "array", MaxRows: run.acc.cfg.MaxRows, Duration: true}
	if err := x.Query(q.Query, run.args(), enc); err != nil {
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
		return e.startStream(r, body, x, x.Canceler(), "account", r.acc.cfg.ID)
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
// its body streams: Released stops the disconnect watcher, writes the
// audit line and puts the run back in its pool, once.
//
// params hold the values of q.Params; numbers and plain strings are views
// of q.Params' bytes (b2s), which the run owns and nothing changes until
// it is released. Everything that reads them (the statement's encoding,
// the audit line) is done by then; sqlexec copies what it sends.
type queryRun struct {
	e         *Engine
	acc       *account
	q         queryRequest
	params    []any
	noParams  bool // the body has no params (or "params": null)
	stopWatch func()
}

var queryRuns = sync.Pool{New: func() any { return new(queryRun) }}

// acquireQueryRun returns an empty run for acc; releaseQueryRun (or
// Released, once the run has an execution) gives it back.
func acquireQueryRun(e *Engine, acc *account) *queryRun {
	run := queryRuns.Get().(*queryRun)
	run.e, run.acc = e, acc
	return run
}

// Bounds on what a pooled run keeps (STYLE §7): one request with many or
// large params must not pin that memory in the pool.
const (
	maxPooledParams     = 64
	maxPooledParamBytes = 1 << 10
)

// releaseQueryRun empties run, keeping its params' memory within bounds,
// and puts it back. run must not be used afterwards.
func releaseQueryRun(run *queryRun) {
	clear(run.params) // drop the views and anything decoded on the slow path
	run.params = run.params[:0]
	ps := run.q.Params
	if cap(ps) > maxPooledParams {
		ps = nil
	}
	all := ps[:cap(ps)]
	for i := range all {
		if cap(all[i]) > maxPooledParamBytes {
			all[i] = nil
		} else {
			all[i] = all[i][:0]
		}
	}
	if cap(run.params) > maxPooledParams {
		run.params = nil
	}
	*run = queryRun{q: queryRequest{Params: ps[:0]}, params: run.params}
	queryRuns.Put(run)
}

func (run *queryRun) Released(rows int64, took time.Duration, err error) {
	run.stopWatch()
	run.e.auditQuery(run.acc, run.q.Query, run.args(), took, rows, err)
	releaseQueryRun(run)
}

// decode reads the request body into run.q and run.params.
func (run *queryRun) decode(body []byte) error {
	// A body without params must still read as nil (the audit line says
	// "params":null, not []), but Unmarshal leaves a field it does not meet
	// as it was: one empty param, which no decoded one is, marks it. (The
	// elements past len are empty: releaseQueryRun.)
	if cap(run.q.Params) == 0 {
		run.q.Params = make([]json.RawMessage, 0, 4)
	}
	run.q.Params = run.q.Params[:1]
	if err := json.Unmarshal(body, &run.q); err != nil {
		return run.decodeSlow(body)
	}
	ps := run.q.Params
	if ps == nil || len(ps) == 1 && len(ps[0]) == 0 {
		run.q.Params, run.noParams = ps[:0], true
		return nil
	}
	for _, raw := range ps {
		v, err := paramValue(raw)
		if err != nil {
			return run.decodeSlow(body)
		}
		run.params = append(run.params, v)
	}
	return nil
}

// decodeSlow decodes a body that Unmarshal refused as serveQuery did
// before runs were pooled (decodeJSON: a Decoder with UseNumber, params
// into []any). Its error is the one clients got, and /v1/batch gives
// ("holds more than one JSON value" included); the few bodies the Decoder
// takes and Unmarshal does not (a stray '}' after the object) still pass.
func (run *queryRun) decodeSlow(body []byte) error {
	var q struct {
		Query    string `json:"query"`
		Params   []any  `json:"params"`
		Database string `json:"database"`
		Format   string `json:"format"`
	}
	if err := decodeJSON(body, &q); err != nil {
		return err
	}
	run.q.Query, run.q.Database, run.q.Format = q.Query, q.Database, q.Format
	run.params = append(run.params[:0], q.Params...)
	run.noParams = q.Params == nil
	return nil
}

// args is the params as the statement and the audit line take them: nil
// for a body without params, as the decoder of old gave.
func (run *queryRun) args() []any {
	if run.noParams {
		return nil
	}
	if run.params == nil {
		return []any{} // "params": [] on a new run (no allocation)
	}
	return run.params
}

// paramValue is one raw JSON param as the value a Decoder with UseNumber
// gives (nil, bool, json.Number, string, []any or map[string]any), which
// sqlexec.EncodeJSON takes. Unmarshal has already checked raw's syntax.
// Numbers and strings without escapes are views of raw, not copies.
func paramValue(raw []byte) (any, error) {
	if len(raw) > 0 {
		switch c := raw[0]; {
		case c == 'n':
			return nil, nil
		case c == 't':
			return true, nil
		case c == 'f':
			return false, nil
		case c == '-' || c >= '0' && c <= '9':
			return json.Number(b2s(raw)), nil
		case c == '"':
			if s := raw[1 : len(raw)-1]; isPlainString(s) {
				return b2s(s), nil
			}
		}
	}
	// Escapes, objects and arrays: the decoder of old, which copies.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// isPlainString reports whether a JSON string's contents decode to
// themselves: no escape, no control character, valid UTF-8 (the decoder
// replaces invalid sequences with U+FFFD).
func isPlainString(s []byte) bool {
	for _, c := range s {
		if c == '\\' || c < 0x20 {
			return false
		}
	}
	return utf8.Valid(s)
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
