package sqlexec

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/rowcodec"
)

// Raw statements (the query API and batches) are prepared once per
// connection and kept in a bounded per-connection cache; route statements
// are prepared under their own names when a connection opens (statement.go).

// stmtCacheSize bounds the statements the raw query API keeps prepared on
// one connection; past it the cache is emptied (and the statements
// deallocated) rather than tracked per entry: accounts' ad-hoc SQL must not
// grow a backend's memory for good.
const stmtCacheSize = 256

const stmtCacheKey = "pgfast.stmts"

// stmtCache maps SQL text to its prepared, described statement on one
// connection. It lives in the connection's CustomData, so it dies with it.
type stmtCache struct {
	byKey map[string]*pgconn.StatementDescription
	// plans are the row plans of byKey's statements, built on first use:
	// a repeated query costs no plan (NewPlan allocates per column).
	plans map[string]cachedPlan
}

// cachedPlan is a plan and the session settings it was built under.
type cachedPlan struct {
	plan     *rowcodec.Plan
	loc      *time.Location
	interval string
}

func connStmtCache(pc *pgconn.PgConn) *stmtCache {
	data := pc.CustomData()
	if c, ok := data[stmtCacheKey].(*stmtCache); ok {
		return c
	}
	c := &stmtCache{byKey: map[string]*pgconn.StatementDescription{}, plans: map[string]cachedPlan{}}
	data[stmtCacheKey] = c
	return c
}

// planFor returns the row plan of sql's result, from the cache while the
// session's TimeZone and IntervalStyle are those it was built under.
func planFor(pc *pgconn.PgConn, sql string, fields []pgconn.FieldDescription, types *rowcodec.Types, cache bool) (*rowcodec.Plan, error) {
	opts := sessionOptions(pc, types)
	var c *stmtCache
	if cache {
		c = connStmtCache(pc)
		if p, ok := c.plans[sql]; ok && p.loc == opts.Location && p.interval == opts.IntervalStyle {
			return p.plan, nil
		}
	}
	plan, err := rowcodec.NewPlan(fields, opts)
	if err == nil && c != nil {
		c.plans[sql] = cachedPlan{plan: plan, loc: opts.Location, interval: opts.IntervalStyle}
	}
	return plan, err
}

func stmtName(sql string) string {
	return "pgfast_" + strconv.FormatUint(xxhash.Sum64String(sql), 16)
}

// describe returns the statement for sql, preparing it (one round trip) on
// a miss. Unnamed (statement_cache: describe) only describes, as the
// unnamed statement, every time: nothing named may outlive a transaction
// behind PgBouncer.
func describe(ctx context.Context, pc *pgconn.PgConn, sql string, unnamed bool) (*pgconn.StatementDescription, error) {
	if unnamed {
		return pc.Prepare(ctx, "", sql, nil)
	}
	c := connStmtCache(pc)
	if sd := c.byKey[sql]; sd != nil {
		return sd, nil
	}
	if err := c.makeRoom(ctx, pc, 1); err != nil {
		return nil, err
	}
	sd, err := pc.Prepare(ctx, stmtName(sql), sql, nil)
	if err != nil {
		return nil, err
	}
	c.byKey[sql] = sd
	return sd, nil
}

// describeAll describes every statement of a batch in one pipelined round
// trip, preparing those the connection has not seen (all of them when
// unnamed); each has its own Sync, so one that fails to prepare does not
// spoil the others. errs[i] is statement i's error; the returned error
// means the connection itself failed. An empty sqls[i] is a statement the
// caller refused: it is neither sent nor described.
func describeAll(ctx context.Context, pc *pgconn.PgConn, sqls []string, sds []*pgconn.StatementDescription, errs []error, unnamed bool) error {
	var c *stmtCache
	todo := sqls
	if !unnamed {
		c = connStmtCache(pc)
		todo = c.missing(sqls)
		if len(todo) > 0 && len(c.byKey)+len(todo) > stmtCacheSize {
			// Emptying the cache also drops statements this batch found in
			// it: count again afterwards.
			if err := c.makeRoom(ctx, pc, len(todo)); err != nil {
				return err
			}
			todo = c.missing(sqls)
		}
	}
	got, failed, err := prepareEach(ctx, pc, todo, unnamed)
	if err != nil {
		return err
	}
	if unnamed {
		copy(sds, got)
		copy(errs, failed)
		return nil
	}
	failedBySQL := map[string]error{}
	for j, sql := range todo {
		if got[j] != nil {
			c.byKey[sql] = got[j]
		}
		if failed[j] != nil {
			failedBySQL[sql] = failed[j]
		}
	}
	for i, sql := range sqls {
		if sql != "" {
			sds[i], errs[i] = c.byKey[sql], failedBySQL[sql]
		}
	}
	return nil
}

// prepareEach prepares sqls in one pipeline, each with its own Sync:
// named (stmtName) or, when unnamed, as the unnamed statement (each Parse
// replaces the previous one, but the descriptions come back in order).
func prepareEach(ctx context.Context, pc *pgconn.PgConn, sqls []string, unnamed bool) ([]*pgconn.StatementDescription, []error, error) {
	sds := make([]*pgconn.StatementDescription, len(sqls))
	errs := make([]error, len(sqls))
	if len(sqls) == 0 {
		return sds, errs, nil
	}
	p := pc.StartPipeline(ctx)
	for _, sql := range sqls {
		if sql == "" {
			continue
		}
		name := ""
		if !unnamed {
			name = stmtName(sql)
		}
		p.SendPrepare(name, sql, nil)
		p.SendPipelineSync()
	}
	if err := p.Flush(); err != nil {
		p.Close()
		return nil, nil, err
	}
	for i, sql := range sqls {
		if sql == "" {
			continue
		}
		res, err := p.GetResults()
		if err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				p.Close()
				return nil, nil, err
			}
			errs[i] = err
		} else if sd, ok := res.(*pgconn.StatementDescription); ok {
			// A pipelined Prepare's description comes back without the
			// statement's text (nor, for a named one, its name).
			sd.SQL = sql
			if !unnamed {
				sd.Name = stmtName(sql)
			}
			sds[i] = sd
		}
		if res, err := p.GetResults(); err != nil {
			p.Close()
			return nil, nil, err
		} else if _, ok := res.(*pgconn.PipelineSync); !ok {
			p.Close()
			return nil, nil, fmt.Errorf("BUG: pipeline out of step: got %T; want a sync", res)
		}
	}
	return sds, errs, p.Close()
}

// missing lists the distinct SQL texts of sqls not in the cache, in
// first-seen order.
func (c *stmtCache) missing(sqls []string) []string {
	var todo []string
	var seen map[string]bool
	for _, sql := range sqls {
		if sql == "" || c.byKey[sql] != nil || seen[sql] {
			continue
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[sql] = true
		todo = append(todo, sql)
	}
	return todo
}

// makeRoom empties the cache when n more statements would overflow it.
func (c *stmtCache) makeRoom(ctx context.Context, pc *pgconn.PgConn, n int) error {
	if len(c.byKey)+n <= stmtCacheSize {
		return nil
	}
	p := pc.StartPipeline(ctx)
	for sql := range c.byKey {
		p.SendDeallocate(stmtName(sql))
	}
	p.SendPipelineSync()
	err := p.Flush()
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot deallocate cached statements: %w", err)
	}
	clear(c.byKey)
	clear(c.plans)
	return nil
}

// forget drops sql from the connection's cache after the server refused
// its prepared statement: 0A000 "cached plan must not change result type"
// after ALTER TABLE, 26000 after DEALLOCATE or DISCARD. The next use
// prepares it again; forget reports whether there was anything to drop.
func forget(pc *pgconn.PgConn, sql string, err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || (pgErr.Code != "0A000" && pgErr.Code != "26000") {
		return false
	}
	c := connStmtCache(pc)
	if _, ok := c.byKey[sql]; !ok {
		return false
	}
	delete(c.byKey, sql)
	delete(c.plans, sql)
	// Deallocate best-effort: it may already be gone (26000).
	_ = pc.Exec(context.Background(), "DEALLOCATE "+stmtName(sql)).Close()
	return true
}

// resultFormats loads the types of a statement's result columns (enums,
// composites, domains new to types) and returns the format to ask for each
// column: binary where rowcodec decodes it, text otherwise.
func resultFormats(ctx context.Context, pc *pgconn.PgConn, types *rowcodec.Types, fields []pgconn.FieldDescription) ([]int16, error) {
	oids := make([]uint32, len(fields))
	for i, f := range fields {
		oids[i] = f.DataTypeOID
	}
	if err := types.Load(ctx, pc, oids...); err != nil {
		return nil, fmt.Errorf("cannot load column types: %w", err)
	}
	return types.Formats(make([]int16, 0, len(oids)), oids), nil
}
