package sqlexec

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

const rowsSchema = `CREATE TABLE t (n int PRIMARY KEY, s text);
INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g;`

// TestRowsShapes runs one statement in each shape and checks the JSON.
func TestRowsShapes(t *testing.T) {
	db := newDB(t, rowsSchema)
	ctx := context.Background()
	f := func(sql string, shape Shape, args []string, want string, wantNoRows bool) {
		t.Helper()
		s, err := Compile(ctx, db, StatementOptions{SQL: sql, Shape: shape})
		if err != nil {
			t.Fatal(err)
		}
		var bargs [][]byte
		for _, a := range args {
			bargs = append(bargs, []byte(a))
		}
		x, err := s.Run(ctx, bargs)
		if err != nil {
			t.Fatal(err)
		}
		got, done, err := x.Fill(nil, 0)
		noRows := x.NoRows()
		x.Release(err)
		if err != nil || !done {
			t.Fatalf("%s: Fill: done %v, err %v", sql, done, err)
		}
		if string(got) != want || noRows != wantNoRows {
			t.Errorf("%s: got %s (no rows %v); want %s (no rows %v)", sql, got, noRows, want, wantNoRows)
		}
	}
	f("SELECT n, s FROM t WHERE n <= $1 ORDER BY n", Many, []string{"2"}, `[{"n":1,"s":"row 1"},{"n":2,"s":"row 2"}]`, false)
	f("SELECT n, s FROM t WHERE n <= $1 ORDER BY n", Many, []string{"0"}, `[]`, false)
	f("SELECT n, s FROM t WHERE n = $1", One, []string{"7"}, `{"n":7,"s":"row 7"}`, false)
	f("SELECT n, s FROM t WHERE n = $1", One, []string{"7000"}, ``, true)
	f("SELECT count(*) FROM t", Value, nil, `1000`, false)
}

// TestRowsFillInChunks reads a large result a chunk at a time, as a
// streamed body does, and stops one half-read: the statement is cancelled
// and the connection is usable by the next execution.
func TestRowsFillInChunks(t *testing.T) {
	db := newDB(t, rowsSchema)
	ctx := context.Background()
	s, err := Compile(ctx, db, StatementOptions{SQL: "SELECT n, s FROM t, generate_series(1, $1::int) ORDER BY n", Shape: Many})
	if err != nil {
		t.Fatal(err)
	}
	x, err := s.Run(ctx, [][]byte{[]byte("1")})
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	chunks := 0
	for {
		chunk, done, err := x.Fill(nil, 4096)
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, chunk...)
		chunks++
		if done {
			break
		}
	}
	x.Release(nil)
	if chunks < 5 || !strings.HasPrefix(string(body), `[{"n":1,`) || !strings.HasSuffix(string(body), `"s":"row 1000"}]`) {
		t.Fatalf("got %d chunks, %d bytes (%.40s…); want the whole array in several chunks", chunks, len(body), body)
	}

	// Stop a big result after its first chunk: Release cancels it on the
	// server instead of reading a million rows.
	x, err = s.Run(ctx, [][]byte{[]byte("1000")})
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := x.Fill(nil, 4096); err != nil || done {
		t.Fatalf("first chunk: done %v, err %v; want more to come", done, err)
	}
	obs := &observer{}
	x.Observer = obs
	x.Release(errors.New("client went away"))
	if obs.err == nil || obs.err.Error() != "client went away" || obs.rows == 0 || obs.took <= 0 {
		t.Fatalf("Observer: %+v; want the caller's outcome, the rows sent and a duration", obs)
	}
	for range 3 { // both connections, and one again
		y, err := db.Query(ctx, "SELECT 1 AS one", nil, Encoding{Shape: Set})
		if err != nil {
			t.Fatalf("after a cancelled result: %v", err)
		}
		got, _, err := y.Fill(nil, 0)
		y.Release(err)
		if err != nil || !strings.Contains(string(got), `"rows":[{"one":1}]`) {
			t.Fatalf("after a cancelled result: got %s, %v", got, err)
		}
	}
}

// TestQueryRetriesStalePlan: a statement prepared on a connection whose
// table then changed shape fails once with 0A000 on the server; Query
// prepares it again instead of answering the error.
func TestQueryRetriesStalePlan(t *testing.T) {
	db := newDB(t, rowsSchema)
	ctx := context.Background()
	run := func() string {
		t.Helper()
		x, err := db.Query(ctx, "SELECT * FROM t WHERE n = $1", []any{"1"}, Encoding{Shape: Set})
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := x.Fill(nil, 0)
		x.Release(err)
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	run()
	run() // both pool connections have it prepared now
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PgConn().Exec(ctx, "ALTER TABLE t ADD COLUMN extra int DEFAULT 5").ReadAll(); err != nil {
		t.Fatal(err)
	}
	conn.Release()
	for range 2 {
		if got := run(); !strings.Contains(got, `"extra":5`) {
			t.Fatalf("after ALTER TABLE: got %s; want the new column", got)
		}
	}
}

// TestBatchTransaction: a failing statement rolls the whole transactional
// batch back and marks the others skipped; without transaction the others
// stand.
func TestBatchTransaction(t *testing.T) {
	db := newDB(t, rowsSchema)
	ctx := context.Background()
	items := func() []BatchItem {
		return []BatchItem{
			{SQL: "INSERT INTO t VALUES (2001, 'a') RETURNING n"},
			{SQL: "INSERT INTO t VALUES (1, 'duplicate')"},
			{SQL: "SELECT count(*) AS c FROM t WHERE n > 2000"},
		}
	}
	tx := items()
	if _, err := db.Batch(ctx, tx, BatchOptions{Transaction: true}); err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if !errors.Is(tx[0].Err, ErrSkipped) || !errors.As(tx[1].Err, &pgErr) || pgErr.Code != "23505" || !errors.Is(tx[2].Err, ErrSkipped) {
		t.Fatalf("transaction: errors %v, %v, %v; want skipped, 23505, skipped", tx[0].Err, tx[1].Err, tx[2].Err)
	}
	each := items()
	if _, err := db.Batch(ctx, each, BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if each[0].Err != nil || !errors.As(each[1].Err, &pgErr) || each[2].Err != nil || !strings.Contains(string(each[2].Result), `"rows":[{"c":1}]`) {
		t.Fatalf("one by one: %v %v %v %s; want the insert kept and counted", each[0].Err, each[1].Err, each[2].Err, each[2].Result)
	}
	refused := []BatchItem{{SQL: "DROP TABLE t", Err: errors.New("refused")}, {SQL: "SELECT count(*) AS c FROM t"}}
	if _, err := db.Batch(ctx, refused, BatchOptions{}); err != nil || refused[1].Err != nil || !strings.Contains(string(refused[1].Result), `"c":1001`) {
		t.Fatalf("a refused statement must not run: %v, %v, %s", err, refused[1].Err, refused[1].Result)
	}
}

type observer struct {
	rows int64
	took time.Duration
	err  error
}

func (o *observer) Released(rows int64, took time.Duration, err error) {
	o.rows, o.took, o.err = rows, took, err
}
