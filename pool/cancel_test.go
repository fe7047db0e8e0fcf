package pool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// activeSleeps counts backends other than the caller's running a pg_sleep.
const activeSleeps = `SELECT count(*) FROM pg_stat_activity
	WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%' AND pid <> pg_backend_pid()`

func TestCancelledQueryStopsOnTheServer(t *testing.T) {
	f := func(name string, stop func(ctx context.Context) (context.Context, context.CancelFunc)) {
		t.Run(name, func(t *testing.T) {
			dbURL := pgtest.NewDatabase(t)
			p := newPool(t, Options{URL: dbURL, MaxConns: 1})
			c := acquire(t, p)
			pid := c.PgConn().PID()
			ctx, cancel := stop(context.Background())
			defer cancel()
			start := time.Now()
			_, err := c.Conn().Exec(ctx, "SELECT pg_sleep(30)")
			elapsed := time.Since(start)
			c.Release()
			// The server confirms the cancel: the error is its own 57014, and
			// ctx.Err() tells it apart from a statement_timeout.
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "57014" || ctx.Err() == nil {
				t.Fatalf("got %v (ctx %v); want a *pgconn.PgError 57014 and a done context", err, ctx.Err())
			}
			if elapsed < 200*time.Millisecond || elapsed > 200*time.Millisecond+cancelGrace {
				t.Fatalf("query returned after %s; want soon after 200ms", elapsed)
			}

			deadline := time.Now().Add(time.Second)
			for superQueryInt(t, dbURL, activeSleeps) != 0 {
				if time.Now().After(deadline) {
					t.Fatal("pg_sleep still active in pg_stat_activity 1s after the cancel; want it gone")
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The connection is usable again, or was discarded cleanly for a
			// new one.
			c = acquire(t, p)
			defer c.Release()
			var one int
			if err := c.Conn().QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("next query: got %d, %v; want 1", one, err)
			}
			t.Logf("backend %d reused: %v", pid, c.PgConn().PID() == pid)
			if s := p.Stats(); s.InUse != 1 || s.Total != 1 {
				t.Fatalf("got InUse=%d Total=%d; want 1 and 1", s.InUse, s.Total)
			}
		})
	}
	f("deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, 200*time.Millisecond)
	})
	f("client gone", func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(200*time.Millisecond, cancel)
		return ctx, cancel
	})
}

func TestStatementTimeoutIs57014(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	p := newPool(t, Options{URL: dbURL, StatementTimeout: 100 * time.Millisecond, MaxConns: 1})
	c := acquire(t, p)
	defer c.Release()
	start := time.Now()
	_, err := c.Conn().Exec(context.Background(), "SELECT pg_sleep(5)")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("got %v; want a *pgconn.PgError with SQLSTATE 57014", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("statement ran %s; want it cancelled after about 100ms", elapsed)
	}
	var one int
	if err := c.Conn().QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("same connection after the timeout: got %v; want it usable", err)
	}
}
