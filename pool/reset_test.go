package pool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// sessionProbe reads, in one row, every kind of state a request could
// leave on a connection. The backend pid proves the next request got the
// same backend.
const sessionProbe = `SELECT pg_backend_pid()::text, current_user::text, session_user::text,
  current_setting('role'), current_setting('default_transaction_read_only'),
  current_setting('statement_timeout'), current_setting('work_mem'), current_setting('search_path'),
  current_setting('TimeZone'), coalesce(nullif(current_setting('pgfast_test.x', true), ''), '-'),
  (SELECT count(*) FROM pg_prepared_statements WHERE from_sql)::text,
  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())::text,
  (SELECT count(*) FROM pg_listening_channels())::text,
  (SELECT count(*) FROM pg_cursors)::text,
  (SELECT count(*) FROM pg_class WHERE relpersistence = 't')::text`

// probe runs sessionProbe on c and returns its columns.
func probe(t *testing.T, c *Conn) []string {
	t.Helper()
	rs, err := c.PgConn().Exec(context.Background(), sessionProbe).ReadAll()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	var out []string
	for _, v := range rs[0].Rows[0] {
		out = append(out, string(v))
	}
	return out
}

// TestResetSessionLeavesNothing plays, for each kind of session state, a
// request that sets it (as a client allowed ALL may), then checks that the
// next request on the same backend sees the connection exactly as it was
// after connect.
func TestResetSessionLeavesNothing(t *testing.T) {
	url := pgtest.NewDatabase(t, "CREATE TABLE t (id int); CREATE SEQUENCE s")
	role := uniqueRole("reset")
	superExec(t, url, "CREATE ROLE "+role+" NOLOGIN; GRANT SELECT ON t TO "+role+"; GRANT USAGE ON SEQUENCE s TO "+role)
	p := newPool(t, Options{URL: url, MaxConns: 1, Role: role, ReadOnly: true,
		StatementTimeout: 1500e6, ResetSession: true})

	c := acquire(t, p)
	start := probe(t, c)
	c.Release()
	states := []struct {
		name string
		sqls []string
	}{
		{"SET work_mem (not reported)", []string{"SET work_mem = '1GB'"}},
		{"SET statement_timeout", []string{"SET statement_timeout = 0"}},
		{"read-only off", []string{"SET default_transaction_read_only = off"}},
		{"set_config of a reported setting", []string{"SELECT set_config('TimeZone', 'Asia/Tokyo', false)"}},
		{"set_config of a custom setting", []string{"SELECT set_config('pgfast_test.x', 'secret', false)"}},
		{"search_path", []string{"SET search_path = pg_temp, public"}},
		{"SET ROLE NONE", []string{"SET ROLE NONE"}},
		{"set_config role", []string{"SELECT set_config('role', 'none', false)"}},
		{"SET SESSION AUTHORIZATION", []string{"SET SESSION AUTHORIZATION " + role}},
		{"advisory lock", []string{"SELECT pg_advisory_lock(42)", "SELECT pg_advisory_lock_shared(43)"}},
		{"temporary table", []string{"RESET ROLE; SET default_transaction_read_only = off", "CREATE TEMP TABLE tmp AS SELECT 1 AS x"}},
		{"SQL-prepared statement", []string{"PREPARE leak AS SELECT 1"}},
		{"cursor WITH HOLD", []string{"DECLARE cur CURSOR WITH HOLD FOR SELECT 1"}},
		{"LISTEN", []string{"LISTEN pgfast_test"}},
		{"sequence currval", []string{"RESET ROLE; SET default_transaction_read_only = off", "SELECT nextval('s')"}},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			c := acquire(t, p)
			for _, sql := range st.sqls {
				if _, err := c.PgConn().Exec(context.Background(), sql).ReadAll(); err != nil {
					c.Release()
					t.Fatalf("%s: %v", sql, err)
				}
			}
			if dirty := probe(t, c); strings.Join(dirty, "|") == strings.Join(start, "|") && !strings.Contains(st.name, "currval") {
				c.Release()
				t.Fatalf("%q changed nothing the probe sees: the test would prove nothing", st.sqls)
			}
			c.Release()
			c = acquire(t, p)
			defer c.Release()
			got := probe(t, c)
			if got[0] != start[0] {
				t.Fatalf("the next request got backend %s; want the same backend %s", got[0], start[0])
			}
			if strings.Join(got, "|") != strings.Join(start, "|") {
				t.Errorf("state survived the request:\n got  %v\n want %v", got, start)
			}
			if _, err := c.PgConn().Exec(context.Background(), "SELECT currval('s')").ReadAll(); err == nil {
				t.Errorf("currval survived the request")
			}
		})
	}
	if st := p.Stats(); st.Resets < int64(len(states)) || st.Discarded != 0 {
		t.Errorf("stats: %d resets, %d discarded; want ≥ %d resets and none discarded", st.Resets, st.Discarded, len(states))
	}
}

// TestResetKeepsProtocolStatements: the reset must not empty the engine's
// statement cache (statements prepared through the protocol).
func TestResetKeepsProtocolStatements(t *testing.T) {
	url := pgtest.NewDatabase(t)
	p := newPool(t, Options{URL: url, MaxConns: 1, ResetSession: true})
	c := acquire(t, p)
	if _, err := c.PgConn().Prepare(context.Background(), "pgfast_kept", "SELECT 1", nil); err != nil {
		t.Fatal(err)
	}
	c.Release()
	c = acquire(t, p)
	defer c.Release()
	if _, err := c.PgConn().ExecPrepared(context.Background(), "pgfast_kept", nil, nil, nil).Close(); err != nil {
		t.Fatalf("a protocol-level statement did not survive the reset: %v", err)
	}
}

// TestResetDeallocatesEverySQLStatement: the DEALLOCATE text the server
// builds quotes each name, so names that need quoting (mixed case, spaces,
// quotes, a keyword) are dropped too, several at once, while a
// protocol-level statement stays.
func TestResetDeallocatesEverySQLStatement(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 1, ResetSession: true})
	ctx := context.Background()
	c := acquire(t, p)
	if _, err := c.PgConn().Prepare(ctx, "pgfast_kept", "SELECT 1", nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`plain`, `"Mixed Case"`, `"with ""quotes"" and ; DEALLOCATE ALL"`, `"select"`} {
		if _, err := c.PgConn().Exec(ctx, "PREPARE "+name+" AS SELECT 1").ReadAll(); err != nil {
			c.Release()
			t.Fatalf("PREPARE %s: %v", name, err)
		}
	}
	c.Release()
	c = acquire(t, p)
	defer c.Release()
	if got := probe(t, c)[10]; got != "0" {
		t.Errorf("%s SQL-prepared statements survived the reset; want 0", got)
	}
	if _, err := c.PgConn().ExecPrepared(ctx, "pgfast_kept", nil, nil, nil).Close(); err != nil {
		t.Errorf("a protocol-level statement did not survive the reset: %v", err)
	}
	if st := p.Stats(); st.Discarded != 0 {
		t.Errorf("stats: %d discarded; want none", st.Discarded)
	}
}

// TestSimpleQuery checks the wire-level reader the reset uses: rows come
// with the index of their result set (statements without rows do not
// count), a statement's error comes back as a *pgconn.PgError with its
// SQLSTATE and stops the statements after it, and the connection is idle
// and usable afterwards in every case.
func TestSimpleQuery(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 1})
	c := acquire(t, p)
	defer c.Release()
	pc := c.PgConn()
	ctx := context.Background()
	f := func(sql, want, wantCode string) {
		t.Helper()
		var rows []string
		err := simpleQuery(ctx, pc, &pgproto3.Query{String: sql}, func(set int, values [][]byte) {
			row := fmt.Sprint(set)
			for _, v := range values {
				if v == nil {
					row += ":NULL"
				} else {
					row += ":" + string(v)
				}
			}
			rows = append(rows, row)
		})
		var pgErr *pgconn.PgError
		if wantCode == "" && err != nil {
			t.Errorf("%s: %v", sql, err)
		} else if wantCode != "" && (!errors.As(err, &pgErr) || pgErr.Code != wantCode) {
			t.Errorf("%s: got error %v; want SQLSTATE %s", sql, err, wantCode)
		}
		if got := strings.Join(rows, " "); got != want {
			t.Errorf("%s: got rows %q; want %q", sql, got, want)
		}
		if pc.IsBusy() || pc.TxStatus() != 'I' {
			t.Fatalf("%s: connection left busy=%v tx=%c", sql, pc.IsBusy(), pc.TxStatus())
		}
		if _, err := pc.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
			t.Fatalf("%s: the connection is not usable afterwards: %v", sql, err)
		}
	}
	f("SELECT 'a', NULL", "0:a:NULL", "")
	f("SET work_mem = '8MB'; SELECT g FROM generate_series(1, 2) g; RESET work_mem; SELECT 'z'", "0:1 0:2 1:z", "")
	f("SELECT 1 WHERE false; SELECT 'y'", "1:y", "")
	f("", "", "")
	f("SELECT 1/0", "", "22012")
	f("SELECT 'a'; SELECT 1/0; SELECT 'never'", "0:a", "22012")
	f("SELECT * FROM no_such_table", "", "42P01")
	if err := simpleQuery(ctx, pc, &pgproto3.Query{String: "SELECT 1"}, nil); err != nil {
		t.Errorf("without a row func: %v", err)
	}
}
