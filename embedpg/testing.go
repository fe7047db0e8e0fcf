package embedpg

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// One throwaway cluster per test binary (that is, per package): starting a
// cluster costs about a second, a database inside it a few milliseconds.
var shared struct {
	once    sync.Once
	cluster *Cluster
	err     error
	dbs     atomic.Int64
}

// Shared returns the test binary's throwaway cluster, starting it on first
// use. The package's TestMain must call RunMain so the cluster is stopped.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	shared.once.Do(func() {
		shared.cluster, shared.err = Start(context.Background(), Options{})
	})
	if shared.err != nil {
		tb.Fatalf("cannot start test PostgreSQL: %v", shared.err)
	}
	return shared.cluster
}

// RunMain runs the package's tests and then stops the shared cluster, if one
// was started, whatever the tests' outcome:
//
//	func TestMain(m *testing.M) { embedpg.RunMain(m) }
//
// If the test binary dies before that, the server gets a parent-death signal.
func RunMain(m *testing.M) {
	code := m.Run()
	if shared.cluster != nil {
		if err := shared.cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// NewDatabase creates an empty database in the shared cluster for one test,
// runs the given SQL in it (several statements allowed) and drops it when
// the test ends. It returns the database's URL.
func NewDatabase(tb testing.TB, sql ...string) string {
	tb.Helper()
	c := Shared(tb)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), shared.dbs.Add(1))
	ctx := context.Background()
	if err := c.exec(ctx, "postgres", "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("cannot create test database: %v", err)
	}
	tb.Cleanup(func() {
		_ = c.exec(context.Background(), "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	for _, s := range sql {
		if err := c.exec(ctx, name, s); err != nil {
			tb.Fatalf("cannot prepare test database: %v", err)
		}
	}
	return c.URLFor(name)
}

// exec runs sql (possibly several statements) in database db.
func (c *Cluster) exec(ctx context.Context, db, sql string) error {
	conn, err := pgconn.Connect(ctx, c.urlFor(db))
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %w", db, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("cannot run SQL in %s: %w", db, err)
	}
	return nil
}
