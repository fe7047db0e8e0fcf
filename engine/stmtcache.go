package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/jackc/pgx/v5/pgconn"
)

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
}

func connStmtCache(pc *pgconn.PgConn) *stmtCache {
	data := pc.CustomData()
	if c, ok := data[stmtCacheKey].(*stmtCache); ok {
		return c
	}
	c := &stmtCache{byKey: map[string]*pgconn.StatementDescription{}}
	data[stmtCacheKey] = c
	return c
}

func stmtName(sql string) string {
	return "pgfast_" + strconv.FormatUint(xxhash.Sum64String(sql), 16)
}

// describe returns the statement for sql, preparing it (one round trip) on
// a miss. With unnamed (statement_cache: describe) it only describes, as
// the unnamed statement, every time: nothing named may outlive a
// transaction behind PgBouncer.
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

// describeAll prepares every uncached statement of a batch in one pipelined
// round trip; each statement has its own Sync, so one that fails to prepare
// does not spoil the others. errs[i] is statement i's error; the returned
// error means the connection itself failed. An empty sqls[i] is a statement
// the batch refused: it is neither sent nor described.
func describeAll(ctx context.Context, pc *pgconn.PgConn, sqls []string, sds []*pgconn.StatementDescription, errs []error, unnamed bool) error {
	if unnamed {
		return describeUnnamed(ctx, pc, sqls, sds, errs)
	}
	c := connStmtCache(pc)
	missing := func() []string { // distinct uncached SQL, in first-seen order
		var todo []string
		seen := map[string]bool{}
		for _, sql := range sqls {
			if sql != "" && c.byKey[sql] == nil && !seen[sql] {
				seen[sql] = true
				todo = append(todo, sql)
			}
		}
		return todo
	}
	todo := missing()
	failed := map[string]error{}
	if len(todo) > 0 {
		if len(c.byKey)+len(todo) > stmtCacheSize {
			// Emptying the cache also drops statements this batch found in
			// it: count again afterwards.
			if err := c.makeRoom(ctx, pc, len(todo)); err != nil {
				return err
			}
			todo = missing()
		}
		p := pc.StartPipeline(ctx)
		for _, sql := range todo {
			p.SendPrepare(stmtName(sql), sql, nil)
			p.SendPipelineSync()
		}
		if err := p.Flush(); err != nil {
			p.Close()
			return err
		}
		for _, sql := range todo {
			res, err := p.GetResults()
			switch {
			case err != nil:
				var pgErr *pgconn.PgError
				if !errors.As(err, &pgErr) {
					p.Close()
					return err
				}
				failed[sql] = err
			default:
				if sd, ok := res.(*pgconn.StatementDescription); ok {
					// A pipelined Prepare's description comes back without
					// the statement's name and text.
					sd.Name, sd.SQL = stmtName(sql), sql
					c.byKey[sql] = sd
				}
			}
			if res, err := p.GetResults(); err != nil {
				p.Close()
				return err
			} else if _, ok := res.(*pgconn.PipelineSync); !ok {
				p.Close()
				return fmt.Errorf("BUG: pipeline out of step: got %T; want a sync", res)
			}
		}
		if err := p.Close(); err != nil {
			return err
		}
	}
	for i, sql := range sqls {
		if sql != "" {
			sds[i], errs[i] = c.byKey[sql], failed[sql]
		}
	}
	return nil
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
	return nil
}

// describeUnnamed describes every statement as the unnamed statement, in
// one pipelined round trip (each Parse replaces the previous unnamed
// statement, but the descriptions come back in order).
func describeUnnamed(ctx context.Context, pc *pgconn.PgConn, sqls []string, sds []*pgconn.StatementDescription, errs []error) error {
	p := pc.StartPipeline(ctx)
	for _, sql := range sqls {
		if sql != "" {
			p.SendPrepare("", sql, nil)
			p.SendPipelineSync()
		}
	}
	if err := p.Flush(); err != nil {
		p.Close()
		return err
	}
	for i := range sqls {
		if sqls[i] == "" {
			continue
		}
		res, err := p.GetResults()
		if err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				p.Close()
				return err
			}
			errs[i] = err
		} else if sd, ok := res.(*pgconn.StatementDescription); ok {
			sd.SQL = sqls[i]
			sds[i] = sd
		}
		if _, err := p.GetResults(); err != nil {
			p.Close()
			return err
		}
	}
	return p.Close()
}

// forget drops sql from the connection's cache after the server refused
// its prepared statement: 0A000 "cached plan must not change result type"
// after ALTER TABLE, 26000 after DEALLOCATE or DISCARD. The next use
// prepares it again.
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
	// Deallocate best-effort: it may already be gone (26000).
	_ = pc.Exec(context.Background(), "DEALLOCATE "+stmtName(sql)).Close()
	return true
}
