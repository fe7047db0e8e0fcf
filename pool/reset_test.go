package pool

import (
	"context"
	"strings"
	"testing"

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
