package pool

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestStartupParametersComeFromTheClient(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	p := newPool(t, Options{
		URL:              dbURL,
		MaxConns:         1,
		StatementTimeout: 1500 * time.Millisecond,
		ReadOnly:         true,
		ApplicationName:  "pgfast-test",
		Settings: map[string]string{
			"work_mem":         "8MB",
			"random_page_cost": "1.1",
			"enable_seqscan":   "off",
			"TimeZone":         "Europe/Paris",
		},
	})
	c := acquire(t, p)
	defer c.Release()
	rows, err := c.Conn().Query(context.Background(),
		`SELECT name, setting, source FROM pg_settings
		 WHERE name IN ('statement_timeout','default_transaction_read_only','application_name',
		                'work_mem','random_page_cost','enable_seqscan','TimeZone')`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	for rows.Next() {
		var name, setting, source string
		if err := rows.Scan(&name, &setting, &source); err != nil {
			t.Fatal(err)
		}
		got[name] = [2]string{setting, source}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	f := func(name, setting string) {
		t.Helper()
		if g := got[name]; g != [2]string{setting, "client"} {
			t.Fatalf("pg_settings %s: got setting=%q source=%q; want %q from the client (startup packet)", name, g[0], g[1], setting)
		}
	}
	f("statement_timeout", "1500") // milliseconds
	f("default_transaction_read_only", "on")
	f("application_name", "pgfast-test")
	f("work_mem", "8192") // kB
	f("random_page_cost", "1.1")
	f("enable_seqscan", "off")
	f("TimeZone", "Europe/Paris")
}

func TestZeroOptionsLeaveServerSettingsAlone(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	p := newPool(t, Options{URL: dbURL + "&application_name=from_url", MaxConns: 1})
	if got := queryString(t, p, "SELECT source FROM pg_settings WHERE name = 'statement_timeout'"); got != "default" {
		t.Fatalf("statement_timeout source: got %q; want default (StatementTimeout 0 sends nothing)", got)
	}
	if got := queryString(t, p, "SELECT current_setting('application_name')"); got != "from_url" {
		t.Fatalf("application_name: got %q; want from_url (ApplicationName empty leaves the URL's)", got)
	}
	if got := queryString(t, p, "SELECT current_setting('transaction_read_only')"); got != "off" {
		t.Fatalf("transaction_read_only: got %q; want off", got)
	}
}

func TestApplicationNameOverridesTheURL(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	p := newPool(t, Options{URL: dbURL + "&application_name=from_url", MaxConns: 1, ApplicationName: "pgfast"})
	if got := queryString(t, p, "SELECT current_setting('application_name')"); got != "pgfast" {
		t.Fatalf("application_name: got %q; want pgfast (ApplicationName wins over the URL's)", got)
	}
}

func TestRoleIsAStartupParameter(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	role := uniqueRole("app_ro")
	superExec(t, dbURL, "CREATE ROLE "+role+" NOLOGIN")
	t.Cleanup(func() { superExec(t, dbURL, "DROP ROLE IF EXISTS "+role) })
	p := newPool(t, Options{URL: dbURL, Role: role, MaxConns: 1})
	c := acquire(t, p)
	defer c.Release()
	ctx := context.Background()
	var cur, sess, setting string
	err := c.Conn().QueryRow(ctx, "SELECT current_user, session_user, current_setting('role')").Scan(&cur, &sess, &setting)
	if err != nil {
		t.Fatal(err)
	}
	if cur != role || sess != "postgres" || setting != role {
		t.Fatalf("got current_user=%q session_user=%q role=%q; want %q, postgres, %q", cur, sess, setting, role, role)
	}
	// The role is the session default, so RESET ROLE comes back to it rather
	// than to the login user: it was not applied by a SET.
	if _, err := c.Conn().Exec(ctx, "RESET ROLE"); err != nil {
		t.Fatal(err)
	}
	if err := c.Conn().QueryRow(ctx, "SELECT current_user").Scan(&cur); err != nil || cur != role {
		t.Fatalf("after RESET ROLE: got %q, %v; want %q", cur, err, role)
	}
}

func TestBadStartupSettingFailsPing(t *testing.T) {
	f := func(opts Options, want string) {
		t.Helper()
		p := newPool(t, opts)
		err := p.Ping(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `cannot ping "main"`) {
			t.Fatalf("got %v; want a ping error mentioning %q", err, want)
		}
	}
	dbURL := pgtest.NewDatabase(t)
	f(Options{URL: dbURL, MaxConns: 1, Settings: map[string]string{"work_mem": "lots"}}, "work_mem")
	f(Options{URL: dbURL, MaxConns: 1, Settings: map[string]string{"no_such_setting": "1"}}, "no_such_setting")
	f(Options{URL: dbURL, MaxConns: 1, Role: uniqueRole("missing")}, "role")
	f(Options{URL: offlineURL, MaxConns: 1, ConnectTimeout: time.Second}, "connect")
}

func TestPingBypassesFullGate(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 2, MaxConcurrentQueries: 1})
	c := acquire(t, p)
	defer c.Release()
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("Ping with the gate full: got %v; want nil", err)
	}
}
