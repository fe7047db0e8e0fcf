package sqlexec

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/rowcodec"
)

// BatchItem is one statement of a batch and, once Batch returns, its
// outcome.
type BatchItem struct {
	SQL    string
	Params []any
	// Err is set by the caller for a statement it refused (never sent to
	// PostgreSQL, not even prepared), and by Batch to the statement's own
	// error or ErrSkipped.
	Err error
	// Result is the statement's encoded Set; Rows its row count.
	Result []byte
	Rows   int64
}

// BatchOptions are a batch's whole-request choices.
type BatchOptions struct {
	// Transaction runs every statement in one implicit transaction (one
	// Sync): all committed or none. Otherwise each statement has its own
	// Sync and one failure touches no other.
	Transaction bool
	// Encoding of each statement's result (Shape is always Set).
	Encoding Encoding
	// Budget, when set, is asked before the encoded results grow.
	Budget Budget
}

// Budget bounds a batch's memory: Reserve is asked before the encoded
// results grow to n bytes in all; its error stops the batch.
type Budget interface {
	Reserve(n int) error
}

// ErrSkipped marks the statements of a failed transactional batch: never
// run, or run and rolled back with it.
var ErrSkipped = errors.New("skipped after an earlier failure in the transaction")

// ErrNotSent is returned by Batch for a transactional batch with a
// statement that failed to prepare or bind: nothing was run. That
// statement's Err says why.
var ErrNotSent = errors.New("transactional batch not sent: a statement failed before it ran")

// Batch runs items on a connection of db: Start, Rows.Batch, Release.
func (db *DB) Batch(ctx context.Context, items []BatchItem, o BatchOptions) (time.Duration, error) {
	x, err := db.Start(ctx)
	if err != nil {
		return 0, err
	}
	defer x.Release(nil)
	return x.Batch(items, o)
}

// Batch runs items on the started execution in at most two pipelined
// round trips: one to prepare the statements this connection has not
// seen, one for every statement. It returns the execution's duration; an
// error is the batch's as a whole (connection, budget or ErrNotSent), each
// statement's own outcome is in its item. The caller releases x.
func (x *Rows) Batch(items []BatchItem, o BatchOptions) (time.Duration, error) {
	x.done = true // the batch reads every result itself: Release cancels nothing
	var err error
	b := batch{db: x.db, pc: x.conn.PgConn(), ctx: x.ctx, items: items, o: o}
	b.o.Encoding.Shape = Set
	if err := b.prepare(); err != nil {
		return time.Since(x.start), err
	}
	if o.Transaction && b.firstError() >= 0 {
		return time.Since(x.start), ErrNotSent
	}
	if err := x.checkStopped(); err != nil {
		return time.Since(x.start), err
	}
	if err := b.send(); err != nil {
		return time.Since(x.start), err
	}
	err = b.collect()
	if err == nil {
		err = b.settle()
	} else {
		b.pl.Close()
	}
	return time.Since(x.start), err
}

// batch is one Batch's working state.
type batch struct {
	db    *DB
	pc    *pgconn.PgConn
	ctx   context.Context
	items []BatchItem
	o     BatchOptions

	sds     []*pgconn.StatementDescription
	args    [][][]byte
	formats [][]int16
	pl      *pgconn.Pipeline
	sent    []sent // what went into the pipeline, in order
	total   int    // encoded result bytes so far
}

// sent is one thing sent in the pipeline.
type sent struct {
	kind uint8
	item int // the statement it belongs to
}

const (
	sentQuery = iota
	sentGuard // SET TRANSACTION READ ONLY ahead of a statement
	sentSync
)

// prepare is round trip 1: describe every statement (preparing those new
// to the connection), then bind its params and load its column types.
func (b *batch) prepare() error {
	n := len(b.items)
	sqls := make([]string, n)
	for i := range b.items {
		if b.items[i].Err == nil {
			sqls[i] = b.items[i].SQL
		}
	}
	b.sds = make([]*pgconn.StatementDescription, n)
	prepErrs := make([]error, n)
	if err := describeAll(b.ctx, b.pc, sqls, b.sds, prepErrs, b.db.Unnamed); err != nil {
		return err
	}
	b.args, b.formats = make([][][]byte, n), make([][]int16, n)
	for i := range b.items {
		it := &b.items[i]
		if it.Err == nil {
			it.Err = prepErrs[i]
		}
		if it.Err != nil {
			continue
		}
		if b.args[i], it.Err = EncodeJSON(nil, it.Params, b.sds[i].ParamOIDs); it.Err != nil {
			continue
		}
		var err error
		if b.formats[i], err = resultFormats(b.ctx, b.pc, b.db.Types, b.sds[i].Fields); err != nil {
			return err
		}
	}
	return nil
}

// send is round trip 2: every statement, pipelined; b.sent mirrors what
// went out so that each result, error and Sync is matched to its statement.
func (b *batch) send() error {
	b.pl = b.pc.StartPipeline(b.ctx)
	last := -1
	for i := range b.items {
		if b.items[i].Err != nil {
			continue
		}
		if !b.o.Transaction && b.db.ReadOnly {
			// Each statement is its own transaction here: pin it read-only
			// whatever an earlier statement did to the session's default.
			b.pl.SendQueryParams("SET TRANSACTION READ ONLY", nil, nil, nil, nil)
			b.sent = append(b.sent, sent{kind: sentGuard, item: i})
		}
		if b.db.Unnamed {
			b.pl.SendQueryParams(b.items[i].SQL, b.args[i], b.sds[i].ParamOIDs, nil, b.formats[i])
		} else {
			b.pl.SendQueryStatement(b.sds[i], b.args[i], nil, b.formats[i])
		}
		b.sent = append(b.sent, sent{kind: sentQuery, item: i})
		if !b.o.Transaction {
			b.pl.SendPipelineSync()
			b.sent = append(b.sent, sent{kind: sentSync, item: i})
		}
		last = i
	}
	if b.o.Transaction {
		b.pl.SendPipelineSync()
		b.sent = append(b.sent, sent{kind: sentSync, item: last})
	}
	if err := b.pl.Flush(); err != nil {
		b.pl.Close()
		return err
	}
	return nil
}

// collect reads every result in order, encoding each statement's rows.
func (b *batch) collect() error {
	opts := sessionOptions(b.pc, b.db.Types)
	plans := map[*pgconn.StatementDescription]*rowcodec.Plan{}
	for c := 0; c < len(b.sent); {
		s := b.sent[c]
		res, err := b.pl.GetResults()
		if res == nil && err == nil {
			return nil // pipeline drained
		}
		if err != nil {
			if !isServerError(err) {
				return err
			}
			c = b.failGroup(c, s.item, err)
			continue
		}
		c++
		rr, ok := res.(*pgconn.ResultReader)
		if !ok || s.kind != sentQuery {
			if ok {
				rr.Close()
			}
			continue
		}
		plan := plans[b.sds[s.item]]
		if plan == nil {
			if plan, err = rowcodec.NewPlan(rr.FieldDescriptions(), opts); err != nil {
				rr.Close()
				b.items[s.item].Err = err
				continue
			}
			plans[b.sds[s.item]] = plan
		}
		if err := b.read(rr, plan, s.item); err != nil {
			if !isServerError(err) {
				return err
			}
			// The statement failed while its rows were read: the error
			// also ends its group, like one returned directly.
			c = b.failGroup(c, s.item, err)
		}
	}
	return nil
}

// read encodes one statement's result into its item. A server error is
// returned (it ends the statement's group), as is Reserve's refusal (it
// ends the batch); an encoding error is the statement's own.
func (b *batch) read(rr *pgconn.ResultReader, plan *rowcodec.Plan, i int) error {
	enc := encoder{plan: plan, enc: b.o.Encoding}
	buf := enc.head(nil)
	var encErr error
	for rr.NextRow() && encErr == nil {
		buf, encErr = enc.row(buf, rr.Values())
		if b.o.Budget != nil {
			if err := b.o.Budget.Reserve(b.total + len(buf)); err != nil {
				rr.Close()
				return err
			}
		}
	}
	if _, err := rr.Close(); err != nil {
		return err
	}
	if encErr != nil {
		b.items[i].Err = encErr
		return nil
	}
	b.items[i].Result = enc.tail(buf, 0)
	b.items[i].Rows = enc.rows
	b.total += len(b.items[i].Result)
	return nil
}

// failGroup records err for the statement at sent[c] (an error on a
// statement, its guard, or at the Sync — a deferred constraint or a
// serialization failure at commit — belongs to the statement) and marks
// the rest of its group skipped: the server skips up to the group's Sync,
// whose result comes next. It returns the index of that Sync.
func (b *batch) failGroup(c, item int, err error) int {
	if item >= 0 && b.items[item].Err == nil {
		b.items[item].Err = err
	}
	for c < len(b.sent) && b.sent[c].kind != sentSync {
		if s := b.sent[c]; s.kind == sentQuery && b.items[s.item].Err == nil {
			b.items[s.item].Err = ErrSkipped
		}
		c++
	}
	return c
}

// settle ends the pipeline: statements whose prepared plan went stale are
// forgotten (the next batch prepares them again), and a failed
// transactional batch marks everything that did not fail skipped (it was
// rolled back).
func (b *batch) settle() error {
	if !b.db.Unnamed {
		for i := range b.items {
			if b.items[i].Err != nil {
				forget(b.pc, b.items[i].SQL, b.items[i].Err)
			}
		}
	}
	if b.o.Transaction && b.firstError() >= 0 {
		for i := range b.items {
			if b.items[i].Err == nil {
				b.items[i].Err = ErrSkipped
			}
		}
	}
	if err := b.pl.Close(); err != nil && !isServerError(err) {
		return err
	}
	return nil
}

func (b *batch) firstError() int {
	for i := range b.items {
		if b.items[i].Err != nil {
			return i
		}
	}
	return -1
}

// isServerError reports an error PostgreSQL sent about a statement, as
// opposed to a failed connection.
func isServerError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr)
}
