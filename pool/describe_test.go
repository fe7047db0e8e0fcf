package pool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// preparedAfter runs a parameterized query and a batch on one connection,
// outside and inside a transaction, and returns how many named prepared
// statements the session then holds.
func preparedAfter(t *testing.T, p *Pool) int {
	t.Helper()
	ctx := context.Background()
	c := acquire(t, p)
	defer c.Release()
	conn := c.Conn()
	var n int
	if err := conn.QueryRow(ctx, "SELECT $1::int + 1", 41).Scan(&n); err != nil || n != 42 {
		t.Fatalf("query: got %d, %v; want 42", n, err)
	}
	b := &pgx.Batch{}
	b.Queue("SELECT id FROM t WHERE id = $1", 1)
	b.Queue("SELECT count(*) FROM t WHERE id > $1", 0)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatalf("batch: %v", err)
	}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT $1::text || 'x'", "y").Scan(new(string))
	})
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	var prepared int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements").Scan(&prepared); err != nil {
		t.Fatal(err)
	}
	return prepared
}

func TestDescribeOnlyLeavesNoNamedStatements(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
	if got := preparedAfter(t, newPool(t, Options{URL: dbURL, MaxConns: 1, DescribeOnly: true})); got != 0 {
		t.Fatalf("DescribeOnly: got %d named prepared statements; want 0", got)
	}
	// The control: pgx's default mode prepares and keeps named statements.
	if got := preparedAfter(t, newPool(t, Options{URL: dbURL, MaxConns: 1})); got == 0 {
		t.Fatal("default mode: got 0 named prepared statements; want some (the test would prove nothing)")
	}
}

func TestAfterConnectRunsOncePerConnection(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	calls := 0
	p := newPool(t, Options{URL: dbURL, MaxConns: 1, AfterConnect: func(ctx context.Context, conn *pgx.Conn) error {
		calls++
		_, err := conn.Prepare(ctx, "route_one", "SELECT 1")
		return err
	}})
	for range 3 {
		c := acquire(t, p)
		var one int
		if err := c.Conn().QueryRow(context.Background(), "route_one").Scan(&one); err != nil || one != 1 {
			t.Fatalf("prepared route statement: got %d, %v; want 1", one, err)
		}
		c.Release()
	}
	if calls != 1 {
		t.Fatalf("got %d AfterConnect calls; want 1", calls)
	}
	errSetup := errors.New("setup failed")
	failing := newPool(t, Options{URL: dbURL, MaxConns: 1, AcquireTimeout: 100 * time.Millisecond,
		AfterConnect: func(context.Context, *pgx.Conn) error { return errSetup }})
	for i := range 3 { // a leaked gate slot would turn the later ones into BusyErrors
		_, err := failing.Acquire(context.Background())
		if !errors.Is(err, errSetup) || IsBusy(err) {
			t.Fatalf("acquire %d with AfterConnect failing: got %v; want the hook's error", i, err)
		}
	}
	if s := failing.Stats(); s.InUse != 0 || s.Total != 0 || s.GateRejected != 0 {
		t.Fatalf("after failed connects: got InUse=%d Total=%d GateRejected=%d; want 0, 0, 0", s.InUse, s.Total, s.GateRejected)
	}
}
