package pool

import (
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestLifetimeOptionsMapToPgxpool checks that a zero lifecycle option means
// off, whatever pgxpool's own default or the URL's pool_* parameter says.
func TestLifetimeOptionsMapToPgxpool(t *testing.T) {
	f := func(url string, idle, life, check, wantIdle, wantLife, wantCheck time.Duration) {
		t.Helper()
		o := Options{URL: url, MaxConns: 1, MaxConnIdleTime: idle, MaxConnLifetime: life, HealthCheckPeriod: check}
		cfg, err := poolConfig(o.withDefaults(), nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if cfg.MaxConnIdleTime != wantIdle || cfg.MaxConnLifetime != wantLife || cfg.HealthCheckPeriod != wantCheck {
			t.Fatalf("%s idle=%s life=%s check=%s: got %s, %s, %s; want %s, %s, %s", url, idle, life, check,
				cfg.MaxConnIdleTime, cfg.MaxConnLifetime, cfg.HealthCheckPeriod, wantIdle, wantLife, wantCheck)
		}
	}
	const withPoolParams = offlineURL + "&pool_max_conn_lifetime=5m&pool_max_conn_idle_time=5m&pool_health_check_period=5s"
	f(offlineURL, 0, 0, 0, never, 0, never)
	f(withPoolParams, 0, 0, 0, never, 0, never)
	f(withPoolParams, 30*time.Minute, time.Hour, time.Minute, 30*time.Minute, time.Hour, time.Minute)
	f(offlineURL, time.Second, 2*time.Second, 3*time.Second, time.Second, 2*time.Second, 3*time.Second)
}

// TestPgxCachesFollowTheExecMode: pgx's statement or description cache,
// whichever the exec mode in force reads, gets pgxCacheSize entries and the
// other none; the exec mode may come from the URL, and a capacity the URL
// sets is kept.
func TestPgxCachesFollowTheExecMode(t *testing.T) {
	cases := []struct {
		name         string
		query        string
		describeOnly bool
		stmt, desc   int
	}{
		{"default", "", false, pgxCacheSize, 0},
		{"statement_cache: describe", "", true, 0, pgxCacheSize},
		{"mode from the URL", "&default_query_exec_mode=cache_describe", false, 0, pgxCacheSize},
		{"no cache read", "&default_query_exec_mode=exec", false, 0, 0},
		{"capacity from the URL", "&statement_cache_capacity=100", false, 100, 0},
	}
	for _, c := range cases {
		o := Options{URL: offlineURL + c.query, MaxConns: 1, DescribeOnly: c.describeOnly}
		cfg, err := poolConfig(o.withDefaults(), nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		cc := cfg.ConnConfig
		if cc.StatementCacheCapacity != c.stmt || cc.DescriptionCacheCapacity != c.desc {
			t.Errorf("%s: statement cache %d, description cache %d; want %d, %d", c.name,
				cc.StatementCacheCapacity, cc.DescriptionCacheCapacity, c.stmt, c.desc)
		}
	}
}

// TestMaxConnLifetimeReplacesConnections runs a pool whose connections live
// 1s: the health check closes the expired one and opens another to keep
// MinConns, so a new backend serves and the old one leaves pg_stat_activity.
func TestMaxConnLifetimeReplacesConnections(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	p := newPool(t, Options{URL: dbURL, MaxConns: 2, MinConns: 1,
		MaxConnLifetime: time.Second, HealthCheckPeriod: 50 * time.Millisecond})
	first := queryString(t, p, "SELECT pg_backend_pid()::text")
	opened := p.Stats().NewConns

	deadline := time.Now().Add(15 * time.Second)
	poll := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("%s within 15s of a 1s max lifetime: no (stats %+v)", what, p.Stats())
			}
			time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
		}
	}
	poll("a new connection opened", func() bool { return p.Stats().NewConns > opened })
	poll("the first backend gone from pg_stat_activity", func() bool {
		return superQueryInt(t, dbURL, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", first) == 0
	})
	if got := queryString(t, p, "SELECT pg_backend_pid()::text"); got == first {
		t.Fatalf("got backend %s after the lifetime passed; want a new one", got)
	}
}
