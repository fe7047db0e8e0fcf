package sqlexec

import (
	"context"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/rowcodec"
)

func TestMain(m *testing.M) { pgtest.RunMain(m) }

// newDB opens a two-connection pool on a fresh database holding schema.
func newDB(t *testing.T, schema string) *DB {
	t.Helper()
	url := pgtest.NewDatabase(t, schema)
	p, err := pool.New(context.Background(), pool.Options{Name: "test", URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &DB{Name: "test", Pool: p, Types: rowcodec.NewTypes()}
}
