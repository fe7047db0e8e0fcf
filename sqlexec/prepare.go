package sqlexec

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Route statements are prepared under their names on every connection of
// their database: all at once when a connection opens (AfterConnect), or
// one at a time on a connection opened before a reload added the route
// (ensurePrepared). Which names a connection holds lives in its CustomData
// and dies with it.

const routeStmtsKey = "pgfast.routes"

// AfterConnect returns a pool's AfterConnect hook: a new connection gets
// every statement that statements returns in one pipelined round trip.
func AfterConnect(statements func() []*Statement, log *slog.Logger) func(context.Context, *pgx.Conn) error {
	return func(ctx context.Context, conn *pgx.Conn) error {
		return prepareAll(ctx, conn.PgConn(), statements(), log)
	}
}

func prepareAll(ctx context.Context, pc *pgconn.PgConn, stmts []*Statement, log *slog.Logger) error {
	var names []string
	var p *pgconn.Pipeline
	for _, s := range stmts {
		if s.name == "" {
			continue
		}
		if p == nil {
			p = pc.StartPipeline(ctx)
		}
		p.SendPrepare(s.name, s.sql, nil)
		names = append(names, s.name)
		if k := s.keyed; k != nil {
			p.SendPrepare(k.sd.Name, k.sd.SQL, nil)
			names = append(names, k.sd.Name)
		}
	}
	if p == nil {
		return nil
	}
	p.SendPipelineSync()
	err := p.Flush()
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if pc.IsClosed() {
			return fmt.Errorf("cannot prepare routes on a new connection: %w", err)
		}
		// A route that no longer prepares (schema changed under us) is
		// prepared lazily and fails on its own requests, not the pool's.
		log.Warn("cannot prepare routes on a new connection", "err", err)
		return nil
	}
	for _, n := range names {
		markPrepared(pc, n)
	}
	return nil
}

// ensurePrepared prepares the statement name (text sql) on a connection
// that has not seen it yet.
func ensurePrepared(ctx context.Context, pc *pgconn.PgConn, name, sql string) error {
	seen := preparedOn(pc)
	if seen[name] {
		return nil
	}
	// 42P05: prepared by Compile on this very connection.
	if _, err := pc.Prepare(ctx, name, sql, nil); err != nil && !isDuplicate(err) {
		return err
	}
	seen[name] = true
	return nil
}

func preparedOn(pc *pgconn.PgConn) map[string]bool {
	data := pc.CustomData()
	seen, _ := data[routeStmtsKey].(map[string]bool)
	if seen == nil {
		seen = map[string]bool{}
		data[routeStmtsKey] = seen
	}
	return seen
}

func markPrepared(pc *pgconn.PgConn, name string) { preparedOn(pc)[name] = true }
