// Package pgtest gives a test binary one throwaway PostgreSQL cluster and
// an empty database per test. It lives apart from embedpg so that the
// pgfast binary never links package testing.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pgfast/pgfast/embedpg"
)

// One throwaway cluster per test binary (that is, per package): starting a
// cluster costs about a second, a database inside it a few milliseconds.
var shared struct {
	once    sync.Once
	cluster *embedpg.Cluster
	err     error
	dbs     atomic.Int64
}

// Shared returns the test binary's throwaway cluster, starting it on first
// use. The package's TestMain must call RunMain so the cluster is stopped.
func Shared(tb testing.TB) *embedpg.Cluster {
	tb.Helper()
	shared.once.Do(func() {
		shared.cluster, shared.err = embedpg.Start(context.Background(), embedpg.Options{})
	})
	if shared.err != nil {
		tb.Fatalf("cannot start test PostgreSQL: %v", shared.err)
	}
	return shared.cluster
}

// RunMain runs the package's tests and then stops the shared cluster, if one
// was started, whatever the tests' outcome:
//
//	func TestMain(m *testing.M) { pgtest.RunMain(m) }
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
	if err := c.Exec(ctx, "postgres", "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("cannot create test database: %v", err)
	}
	tb.Cleanup(func() {
		_ = c.Exec(context.Background(), "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	for _, s := range sql {
		if err := c.Exec(ctx, name, s); err != nil {
			tb.Fatalf("cannot prepare test database: %v", err)
		}
	}
	return c.URLFor(name)
}
