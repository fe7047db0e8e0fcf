package sqlexec

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/rowcodec"
)

const coalesceSchema = `CREATE TABLE item (id int PRIMARY KEY, name text);
INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 1000) g;
INSERT INTO item VALUES (1001, 'say "hi"'), (1002, 'back\slash'), (1003, '{a,b}'), (1004, 'NULL'), (1005, '');
CREATE TABLE coded (code char(3) PRIMARY KEY, n int);
INSERT INTO coded VALUES ('abc', 1), ('a', 2);`

// newCoalesceDB opens a pool of conns connections.
func newCoalesceDB(t testing.TB, conns int32) (*DB, string) {
	t.Helper()
	url := pgtest.NewDatabase(t, coalesceSchema)
	p, err := pool.New(context.Background(), pool.Options{Name: "test", URL: url,
		MaxConns: conns, AcquireTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	// A budget no test run reaches: runs grow to maxCoalesced.
	return &DB{Name: "test", Pool: p, Types: rowcodec.NewTypes(), Timeout: 5 * time.Second, RunBudget: time.Hour}, url
}

// TestCoalescedRunsAnswerEachRequest holds the only connection while
// requests pile up, then checks that they ran pipelined in runs and that
// each got its own answer: its row, its 404, its own error (a division by
// zero in one member does not fail the others), its own settings.
func TestCoalescedRunsAnswerEachRequest(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) { testCoalescedRuns(t, keyed) })
	}
}

// testCoalescedRuns: a keyed statement's runs all hold a division by zero,
// so each falls back to a pipelined run, with the same answers.
func testCoalescedRuns(t *testing.T, keyed bool) {
	ctx := context.Background()
	db, _ := newCoalesceDB(t, 1)
	const sql = `SELECT id, name, 10 / (id % 7) AS q, current_setting('work_mem') AS work_mem FROM item WHERE id = `
	o := StatementOptions{Name: "item", Shape: One, Coalesce: true, SQL: sql + "$1",
		Settings: map[string]string{"work_mem": "3MB"}, Timeout: 2 * time.Second}
	if keyed {
		o.Lateral = sql + LateralParam
	}
	s, err := Compile(ctx, db, o)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Coalesces() || s.Keyed() != keyed {
		t.Fatalf("compiled with Coalesce and Lateral %q: Coalesces %v, Keyed %v", o.Lateral, s.Coalesces(), s.Keyed())
	}
	warm(t, s)
	hold, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 150 // more than two runs' worth
	type answer struct {
		f   Fetched
		err error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := i + 1
			if i == n-1 {
				id = 5000 // no such row
			}
			f, err := s.Fetch(ctx, [][]byte{[]byte(strconv.Itoa(id))}, nil)
			answers[i] = answer{f, err}
		}()
	}
	waitFor(t, "every request to join a run", func() bool { return s.CoalesceStats().Waiting == n })
	hold.Release()
	wg.Wait()

	for i, a := range answers {
		id := i + 1
		switch {
		case i == n-1:
			if a.err != nil || !a.f.NoRows {
				t.Errorf("id 5000: want no rows, got %q, %v", a.f.Body, a.err)
			}
		case id%7 == 0:
			var pgErr *pgconn.PgError
			if !errors.As(a.err, &pgErr) || pgErr.Code != "22012" {
				t.Errorf("id %d: want division_by_zero, got %q, %v", id, a.f.Body, a.err)
			}
		default:
			want := fmt.Sprintf(`{"id":%d,"name":"item %d","q":%d,"work_mem":"3MB"}`, id, id, 10/(id%7))
			if a.err != nil || string(a.f.Body) != want || a.f.NoRows {
				t.Errorf("id %d: got %q, %v; want %s", id, a.f.Body, a.err, want)
			}
		}
	}
	st := s.CoalesceStats()
	// A keyed run falls back to pipelined when one of its members hits
	// the division by zero; one that happens to hold no multiple of 7
	// answers keyed, with the same answers.
	if st.Runs != (n+maxCoalesced-1)/maxCoalesced || st.Members != n || (!keyed && st.Keyed != 0) {
		// Every request waited (the only slot was held), in runs of at
		// most maxCoalesced.
		t.Errorf("coalesce stats %+v; want %d requests in runs of at most %d", st, n, maxCoalesced)
	}
	// The connection came back clean: a plain request still works and
	// sees the server's default work_mem.
	f, err := s.Fetch(ctx, [][]byte{[]byte("1")}, nil)
	if err != nil || string(f.Body) != `{"id":1,"name":"item 1","q":10,"work_mem":"3MB"}` {
		t.Fatalf("after the runs: %q, %v", f.Body, err)
	}
	x, err := db.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Release(nil)
	if err := x.Query(`SELECT current_setting('work_mem') AS w`, nil, Encoding{Shape: Value}); err != nil {
		t.Fatal(err)
	}
	if body, _, err := x.Fill(nil, 0); err != nil || string(body) != `"4MB"` {
		t.Fatalf("work_mem after the runs: %s, %v; a route's SET LOCAL leaked", body, err)
	}
}

// itemName compiles `SELECT name FROM item WHERE id = $1`,
// coalescing, as a Value.
func itemName(t *testing.T, db *DB) *Statement {
	t.Helper()
	s, err := Compile(context.Background(), db, StatementOptions{Name: "item", Shape: Value, Coalesce: true,
		SQL: `SELECT name FROM item WHERE id = $1`})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// warm runs s once, so that its cost per request is known: until then a
// run takes one member.
func warm(t *testing.T, s *Statement) {
	t.Helper()
	if _, err := s.Fetch(context.Background(), [][]byte{[]byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestSlowStatementsDoNotCoalesce: a statement slower than the run budget
// runs every request on a connection of its own, as without coalescing, so
// that slow statements never queue behind one another on one connection.
func TestSlowStatementsDoNotCoalesce(t *testing.T) {
	ctx := context.Background()
	db, _ := newCoalesceDB(t, 1)
	db.RunBudget = 2 * time.Millisecond
	db.MaxRuns = 1 // runs of one are bounded by the gate's slots instead
	s, err := Compile(ctx, db, StatementOptions{Name: "slow", Shape: Value, Coalesce: true,
		SQL: `SELECT $1::int FROM pg_sleep(0.02)`, Lateral: `SELECT pgfast_k.v::int FROM pg_sleep(0.02)`})
	if err != nil {
		t.Fatal(err)
	}
	if lim := s.co.limit(db.RunBudget); lim != 1 {
		t.Fatalf("limit before any execution: %d; want 1", lim)
	}
	warm(t, s)
	if lim := s.co.limit(db.RunBudget); lim != 1 {
		t.Fatalf("limit after a 20ms execution with a 2ms budget: %d; want 1", lim)
	}
	hold, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f, err := s.Fetch(ctx, [][]byte{[]byte(strconv.Itoa(i))}, nil); err != nil || string(f.Body) != strconv.Itoa(i) {
				t.Errorf("request %d: %q, %v", i, f.Body, err)
			}
		}()
	}
	waitFor(t, "every request to wait in a run", func() bool { return s.CoalesceStats().Waiting == n })
	if st := db.Pool.Stats(); st.GateWaiting != 1 {
		t.Errorf("%d runs wait at the gate; want 1, one per slot of the gate", st.GateWaiting)
	}
	hold.Release()
	wg.Wait()
	if st := s.CoalesceStats(); st.Runs != 0 {
		t.Errorf("coalesce stats %+v; want no run of a statement slower than the budget", st)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestKeyedRunAnswersEachRequest runs one keyed run per case: text keys
// that need quoting in an array literal, a NULL, a key with no row and
// duplicates; char(3) keys, whose array must keep their length (cast to
// character[] they would be cut to one character and find another row):
// each member gets exactly its own execution's answer.
func TestKeyedRunAnswersEachRequest(t *testing.T) {
	for _, c := range []struct {
		name, sql string
		keys      []any
		want      []string
	}{
		{"text", `SELECT id, name FROM item WHERE name = `,
			[]any{`say "hi"`, `back\slash`, `{a,b}`, `NULL`, ``, nil, `no such name`, `item 7`, `item 7`, `item 1000`},
			[]string{`{"id":1001,"name":"say \"hi\""}`, `{"id":1002,"name":"back\\slash"}`, `{"id":1003,"name":"{a,b}"}`,
				`{"id":1004,"name":"NULL"}`, `{"id":1005,"name":""}`, "", "", `{"id":7,"name":"item 7"}`, `{"id":7,"name":"item 7"}`,
				`{"id":1000,"name":"item 1000"}`}},
		{"char(3)", `SELECT n FROM coded WHERE code = `,
			[]any{`abc`, `a`, `ab`, `abc`},
			[]string{`{"n":1}`, `{"n":2}`, "", `{"n":1}`}},
	} {
		t.Run(c.name, func(t *testing.T) { testKeyedRun(t, c.sql, c.keys, c.want) })
	}
}

func testKeyedRun(t *testing.T, sql string, keys []any, want []string) {
	ctx := context.Background()
	db, _ := newCoalesceDB(t, 1)
	s, err := Compile(ctx, db, StatementOptions{Name: "keyed", Shape: One, Coalesce: true, SQL: sql + "$1", Lateral: sql + LateralParam})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Keyed() {
		t.Fatal("a one-parameter SELECT did not get its keyed form")
	}
	warm(t, s)
	hold, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]Fetched, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		var arg []byte
		if k != nil {
			arg = []byte(k.(string))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.Fetch(ctx, [][]byte{arg}, nil)
		}()
	}
	waitFor(t, "every request to join a run", func() bool { return s.CoalesceStats().Waiting == int64(len(keys)) })
	hold.Release()
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || string(got[i].Body) != want[i] || got[i].NoRows != (want[i] == "") {
			t.Errorf("key %#v: got %q (no rows %v), %v; want %q", keys[i], got[i].Body, got[i].NoRows, errs[i], want[i])
		}
	}
	if st := s.CoalesceStats(); st.Runs != 1 || st.Keyed != 1 || st.Members != int64(len(keys)) {
		t.Errorf("coalesce stats %+v; want one keyed run of %d", st, len(keys))
	}
}

// TestCoalescedRunLosingItsConnection kills the backend of a pipelined run
// while its first statement waits on a lock: every member gets an error
// (none hangs), and the next request runs on a new connection.
func TestCoalescedRunLosingItsConnection(t *testing.T) {
	ctx := context.Background()
	db, url := newCoalesceDB(t, 1)
	s := itemName(t, db)
	warm(t, s)
	hold, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := hold.PgConn().PID()
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Fetch(ctx, [][]byte{[]byte(strconv.Itoa(i + 1))}, nil)
		}()
	}
	waitFor(t, "every request to join a run", func() bool { return s.CoalesceStats().Waiting == n })
	// Lock the table from outside, then let the run have the connection:
	// its first statement blocks on the lock until the backend dies.
	lc := lockerConn(t, url)
	if _, err := lc.PgConn().Exec(ctx, "BEGIN; LOCK TABLE item IN ACCESS EXCLUSIVE MODE").ReadAll(); err != nil {
		t.Fatal(err)
	}
	hold.Release()
	killer := lockerConn(t, url)
	waitFor(t, "the run's statement to wait for the lock", func() bool {
		res, err := killer.PgConn().Exec(ctx, "SELECT 1 FROM pg_stat_activity WHERE pid = "+strconv.Itoa(int(pid))+" AND wait_event_type = 'Lock'").ReadAll()
		return err == nil && len(res[0].Rows) == 1
	})
	if _, err := killer.PgConn().Exec(ctx, "SELECT pg_terminate_backend("+strconv.Itoa(int(pid))+")").ReadAll(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("member %d: no error from a run whose connection died", i+1)
		}
	}
	if _, err := lc.PgConn().Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
		t.Fatal(err)
	}
	f, err := s.Fetch(ctx, [][]byte{[]byte("3")}, nil)
	if err != nil || string(f.Body) != `"item 3"` {
		t.Fatalf("after the lost run: %q, %v", f.Body, err)
	}
}

// BenchmarkFetchContended runs a one-row statement from 256 goroutines
// over 4 connections: alone, in pipelined runs and in keyed runs. The
// ratios are what coalescing gives when every connection is busy.
func BenchmarkFetchContended(b *testing.B) {
	const sql = `SELECT id, name FROM item WHERE id = `
	for _, mode := range []string{"alone", "pipelined", "keyed"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			db, _ := newCoalesceDB(b, 4)
			o := StatementOptions{Name: "item", Shape: One, Coalesce: mode != "alone", SQL: sql + "$1"}
			if mode == "keyed" {
				o.Lateral = sql + LateralParam
			}
			s, err := Compile(ctx, db, o)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(128) // × GOMAXPROCS goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				args := [][]byte{[]byte("42")}
				var buf []byte
				for pb.Next() {
					f, err := s.Fetch(ctx, args, buf[:0])
					if err != nil {
						b.Error(err)
						return
					}
					buf = f.Body
				}
			})
			b.StopTimer()
			if st := s.CoalesceStats(); st.Runs > 0 {
				b.ReportMetric(float64(st.Members)/float64(st.Runs), "members/run")
			}
		})
	}
}

// lockerConn is a connection of its own to url, outside the pool under
// test, for holding locks the test's statements wait on.
func lockerConn(t *testing.T, url string) *pool.Conn {
	t.Helper()
	locker, err := pool.New(context.Background(), pool.Options{Name: "locker", URL: url, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(locker.Close)
	lc, err := locker.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lc.Release)
	return lc
}
