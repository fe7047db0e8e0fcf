package pool

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestMain(m *testing.M) { pgtest.RunMain(m) }

// newPool builds a pool on opts and closes it when the test ends.
func newPool(tb testing.TB, opts Options) *Pool {
	tb.Helper()
	if opts.Name == "" {
		opts.Name = "main"
	}
	p, err := New(context.Background(), opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(p.Close)
	return p
}

// acquire takes a connection or fails the test.
func acquire(tb testing.TB, p *Pool) *Conn {
	tb.Helper()
	c, err := p.Acquire(context.Background())
	if err != nil {
		tb.Fatalf("Acquire: %v", err)
	}
	return c
}

// queryString runs sql on a pooled connection and returns the first column.
func queryString(tb testing.TB, p *Pool, sql string, args ...any) string {
	tb.Helper()
	c := acquire(tb, p)
	defer c.Release()
	var s string
	if err := c.Conn().QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return s
}

// superExec runs sql (several statements allowed) as the superuser in the
// database of dbURL, outside any pool under test.
func superExec(tb testing.TB, dbURL, sql string) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// superQueryInt runs a one-value integer query as the superuser.
func superQueryInt(tb testing.TB, dbURL, sql string, args ...any) int64 {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

var roleSeq atomic.Int64

// uniqueRole returns a role name no other test uses; roles are cluster-wide.
func uniqueRole(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, time.Now().UnixNano()%1e9, roleSeq.Add(1))
}

// withUser returns dbURL logging in as user (the test cluster trusts local
// connections).
func withUser(tb testing.TB, dbURL, user string) string {
	tb.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

// sqlState returns err's SQLSTATE, or "" when err is not a PostgreSQL error.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// offlineURL points at a port nothing listens on; New does not connect, so
// tests of the gate and stats logic can use it.
const offlineURL = "postgres://nobody@127.0.0.1:1/none?sslmode=disable"
