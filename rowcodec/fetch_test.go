package rowcodec

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/embedpg"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// fetched is a result captured from a real server: the field descriptions
// as received (binary where the codec decodes) and each row's raw values,
// copied out of pgconn's buffer.
type fetched struct {
	fields []pgconn.FieldDescription
	rows   [][][]byte
}

// fetch runs query with the result formats Types.Formats picks.
func fetch(tb testing.TB, conn *pgconn.PgConn, types *Types, query string) fetched {
	tb.Helper()
	ctx := context.Background()
	sd, err := conn.Prepare(ctx, "", query, nil)
	if err != nil {
		tb.Fatalf("cannot prepare %q: %v", query, err)
	}
	oids := make([]uint32, len(sd.Fields))
	for i, f := range sd.Fields {
		oids[i] = f.DataTypeOID
	}
	if err := types.Load(ctx, conn, oids...); err != nil {
		tb.Fatalf("cannot load types: %v", err)
	}
	rr := conn.ExecParams(ctx, query, nil, nil, nil, types.Formats(nil, oids))
	var f fetched
	f.fields = append(f.fields, rr.FieldDescriptions()...)
	for rr.NextRow() {
		vals := rr.Values()
		row := make([][]byte, len(vals))
		for i, v := range vals {
			if v != nil {
				row[i] = bytes.Clone(v)
			}
		}
		f.rows = append(f.rows, row)
	}
	if _, err := rr.Close(); err != nil {
		tb.Fatalf("cannot run %q: %v", query, err)
	}
	return f
}

// newTypesDatabase creates a database holding testdata/types.sql.
func newTypesDatabase(tb testing.TB) string {
	tb.Helper()
	return pgtest.NewDatabase(tb, readTypesSQL(tb))
}

// demoRows loads n demo customers (testdata/schema.sql) into a fresh
// database and fetches them, in id order.
func demoRows(tb testing.TB, n int) fetched {
	tb.Helper()
	schema, err := os.ReadFile("../testdata/schema.sql")
	if err != nil {
		tb.Fatalf("cannot read schema.sql: %v", err)
	}
	url := pgtest.NewDatabase(tb)
	if _, err := embedpg.LoadDemo(context.Background(), url, schema, n); err != nil {
		tb.Fatalf("cannot load demo data: %v", err)
	}
	return fetch(tb, connect(tb, url), NewTypes(), "SELECT * FROM customer ORDER BY customer_id")
}
