package rowcodec

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestMain stops the package's throwaway PostgreSQL after the tests.
func TestMain(m *testing.M) { pgtest.RunMain(m) }

// connect opens a connection to url, closed when the test ends.
func connect(tb testing.TB, url string) *pgconn.PgConn {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("cannot connect: %v", err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
