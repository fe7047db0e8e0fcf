package pool

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// readOnlySchema is a table with one row and a function that writes to it
// when called from a SELECT.
const readOnlySchema = `
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t VALUES (1, 'one');
CREATE FUNCTION bump() RETURNS int LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO t SELECT max(id) + 1, 'bumped' FROM t; RETURN 1; END $$;`

// trick is one attempt to write: SQL statements run in order on one
// connection; the last one's SQLSTATE is checked. simple sends a
// multi-statement string through the simple protocol in one message.
type trick struct {
	name   string
	sqls   []string
	simple bool
	copy   bool
}

var writeTricks = []trick{
	{name: "insert", sqls: []string{"INSERT INTO t VALUES (100, 'x')"}},
	{name: "update", sqls: []string{"UPDATE t SET v = 'changed'"}},
	{name: "data-modifying CTE", sqls: []string{"WITH d AS (DELETE FROM t RETURNING id) SELECT count(*) FROM d"}},
	{name: "function with side effect", sqls: []string{"SELECT bump()"}},
	{name: "truncate", sqls: []string{"TRUNCATE t"}},
	{name: "DDL", sqls: []string{"CREATE TABLE evil (x int)"}},
	{name: "COPY FROM STDIN", copy: true},
	{name: "set default off, then insert", sqls: []string{"SET default_transaction_read_only = off", "INSERT INTO t VALUES (101, 'x')"}},
	{name: "set_config default off, then insert", sqls: []string{"SELECT set_config('default_transaction_read_only', 'off', false)", "INSERT INTO t VALUES (102, 'x')"}},
	{name: "session characteristics, then update", sqls: []string{"SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "UPDATE t SET v = 'changed'"}},
	{name: "SET TRANSACTION READ WRITE; INSERT", simple: true, sqls: []string{"SET TRANSACTION READ WRITE; INSERT INTO t VALUES (103, 'x')"}},
	{name: "BEGIN READ WRITE; DELETE; COMMIT", simple: true, sqls: []string{"BEGIN READ WRITE; DELETE FROM t; COMMIT"}},
	{name: "SET ROLE NONE, default off, then insert", sqls: []string{"SET ROLE NONE", "SET default_transaction_read_only = off", "INSERT INTO t VALUES (104, 'x')"}},
}

// run plays the trick on a fresh pooled connection and returns the last
// statement's error.
func (tr trick) run(t *testing.T, p *Pool) error {
	t.Helper()
	ctx := context.Background()
	c := acquire(t, p)
	defer c.Release()
	if tr.copy {
		_, err := c.PgConn().CopyFrom(ctx, strings.NewReader("200\tcopied\n"), "COPY t FROM STDIN")
		return err
	}
	var err error
	for _, sql := range tr.sqls {
		if tr.simple {
			_, err = c.PgConn().Exec(ctx, sql).ReadAll()
		} else {
			_, err = c.Conn().Exec(ctx, sql)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// tableState is a fingerprint of t's contents.
func tableState(t *testing.T, dbURL string) int64 {
	t.Helper()
	return superQueryInt(t, dbURL, `SELECT ('x' || substr(md5(coalesce(string_agg(id || ':' || v, ',' ORDER BY id), '')), 1, 15))::bit(60)::bigint FROM t`)
}

func TestReadOnlyTransactionRefusesWrites(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, readOnlySchema)
	p := newPool(t, Options{URL: dbURL, MaxConns: 2, ReadOnly: true})
	before := tableState(t, dbURL)
	for _, tr := range writeTricks[:7] { // the single-statement ones
		if got := sqlState(tr.run(t, p)); got != "25006" {
			t.Fatalf("%s: got SQLSTATE %q; want 25006 (read-only transaction)", tr.name, got)
		}
	}
	// Switching the running transaction to read-write fails once it has a
	// snapshot.
	err := trick{sqls: []string{"SELECT set_config('transaction_read_only', 'off', true) FROM t"}}.run(t, p)
	if got := sqlState(err); got != "25001" {
		t.Fatalf("set_config transaction_read_only in a statement: got %v; want SQLSTATE 25001", err)
	}
	if after := tableState(t, dbURL); after != before {
		t.Fatalf("table changed: got state %d; want %d", after, before)
	}
}

// TestReadOnlyAloneCanBeTurnedOff records what read-only mode does NOT
// guarantee, which is why read-only accounts need an unprivileged role.
func TestReadOnlyAloneCanBeTurnedOff(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, readOnlySchema)
	p := newPool(t, Options{URL: dbURL, MaxConns: 2, ReadOnly: true})
	for _, i := range []int{7, 8, 9, 10, 11} {
		if err := writeTricks[i].run(t, p); err != nil {
			t.Fatalf("%s: got %v; want it to write (read-only mode is only a session default)", writeTricks[i].name, err)
		}
	}
	if n := superQueryInt(t, dbURL, "SELECT count(*) FROM t"); n != 0 {
		t.Fatalf("got %d rows; want 0 after the tricks inserted and then deleted everything", n)
	}
}

func TestReadOnlyWithUnprivilegedLoginHolds(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, readOnlySchema)
	login := uniqueRole("reader")
	superExec(t, dbURL, "CREATE ROLE "+login+" LOGIN; GRANT SELECT ON t TO "+login)
	t.Cleanup(func() { superExec(t, dbURL, "DROP OWNED BY "+login+"; DROP ROLE IF EXISTS "+login) })
	p := newPool(t, Options{URL: withUser(t, dbURL, login), MaxConns: 2, ReadOnly: true})
	before := tableState(t, dbURL)
	tricks := slices.Concat(writeTricks, []trick{{name: "SET ROLE to the superuser", sqls: []string{"SET ROLE postgres"}}})
	for _, tr := range tricks {
		err := tr.run(t, p)
		if got := sqlState(err); got != "25006" && got != "42501" {
			t.Fatalf("%s: got %v; want SQLSTATE 25006 (read-only) or 42501 (no privilege)", tr.name, err)
		}
	}
	if after := tableState(t, dbURL); after != before {
		t.Fatalf("table changed: got state %d; want %d", after, before)
	}
	if got := superQueryInt(t, dbURL, "SELECT count(*) FROM pg_tables WHERE tablename = 'evil'"); got != 0 {
		t.Fatalf("got %d tables named evil; want 0", got)
	}
}

// TestRoleCanBeLeftButNotForTheNextRequest shows why Role alone is SET ROLE
// semantics, not a boundary, and that Release keeps the escape from leaking
// into the next borrower of the connection.
func TestRoleCanBeLeftButNotForTheNextRequest(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, readOnlySchema)
	role := uniqueRole("app_ro")
	superExec(t, dbURL, "CREATE ROLE "+role+" NOLOGIN; GRANT SELECT ON t TO "+role)
	t.Cleanup(func() { superExec(t, dbURL, "DROP OWNED BY "+role+"; DROP ROLE IF EXISTS "+role) })
	p := newPool(t, Options{URL: dbURL, Role: role, ReadOnly: true, MaxConns: 1})

	if err := writeTricks[12].run(t, p); err != nil {
		t.Fatalf("SET ROLE NONE with a superuser login: got %v; want the write to succeed", err)
	}
	if n := superQueryInt(t, dbURL, "SELECT count(*) FROM t WHERE id = 104"); n != 1 {
		t.Fatalf("got %d rows with id 104; want 1", n)
	}
	if s := p.Stats(); s.Discarded != 1 {
		t.Fatalf("got Discarded=%d; want the changed connection closed on release", s.Discarded)
	}
	c := acquire(t, p)
	defer c.Release()
	var user, ro string
	if err := c.Conn().QueryRow(context.Background(), "SELECT current_user::text, current_setting('transaction_read_only')").Scan(&user, &ro); err != nil {
		t.Fatal(err)
	}
	if user != role || ro != "on" {
		t.Fatalf("next request: got current_user=%q read_only=%q; want %q and on", user, ro, role)
	}
}

func TestReleaseDiscardsChangedSession(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), ReadOnly: true, MaxConns: 1})
	ctx := context.Background()
	pid := func() uint32 {
		c := acquire(t, p)
		defer c.Release()
		return c.PgConn().PID()
	}
	f := func(sql string, wantNewBackend bool) {
		t.Helper()
		c := acquire(t, p)
		before := c.PgConn().PID()
		if _, err := c.Conn().Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		c.Release()
		if got := pid() != before; got != wantNewBackend {
			t.Fatalf("after %q: got new backend %v; want %v", sql, got, wantNewBackend)
		}
	}
	f("SELECT 1", false)
	f("SET work_mem = '1MB'", false) // not reported by the server, not seen
	// Per-route settings use SET LOCAL: gone at commit, so the connection stays.
	f("BEGIN; SET LOCAL TimeZone = 'Asia/Tokyo'; SET LOCAL DateStyle = 'German'; COMMIT", false)
	f("SET default_transaction_read_only = off", true)
	f("SET TimeZone = 'Asia/Tokyo'", true)
	f("SET DateStyle = 'German'", true)
	f("SET application_name = 'other'", true)
	if s := p.Stats(); s.Discarded != 4 {
		t.Fatalf("got Discarded=%d; want 4", s.Discarded)
	}
	if got := queryString(t, p, "SELECT current_setting('transaction_read_only')"); got != "on" {
		t.Fatalf("got transaction_read_only=%q; want on on the replacement connection", got)
	}
}

// TestExtendedProtocolCarriesOneStatement backs the doc comment: Query (and
// Exec with arguments) use the extended protocol, which refuses a string of
// several statements; Exec without arguments falls back to the simple
// protocol, which accepts them.
func TestExtendedProtocolCarriesOneStatement(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, readOnlySchema)
	p := newPool(t, Options{URL: dbURL, MaxConns: 1})
	c := acquire(t, p)
	defer c.Release()
	ctx := context.Background()
	rows, err := c.Conn().Query(ctx, "SET TRANSACTION READ WRITE; INSERT INTO t VALUES ($1, 'x')", 300)
	if err == nil {
		rows.Close()
		err = rows.Err()
	}
	if got := sqlState(err); got != "42601" {
		t.Fatalf("Query with two statements: got %v; want SQLSTATE 42601", err)
	}
	if _, err := c.Conn().Exec(ctx, "SELECT 1; SELECT 2"); err != nil {
		t.Fatalf("Exec without arguments: got %v; want the simple protocol to run both", err)
	}
}
