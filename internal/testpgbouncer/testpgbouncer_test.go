package testpgbouncer

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestMain(m *testing.M) { pgtest.RunMain(m) }

func connect(t *testing.T, url string, params map[string]string) *pgconn.PgConn {
	t.Helper()
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range params {
		cfg.RuntimeParams[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("cannot connect to %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func value(t *testing.T, conn *pgconn.PgConn, sql string) string {
	t.Helper()
	res := conn.ExecParams(context.Background(), sql, nil, nil, nil, nil).Read()
	if res.Err != nil {
		t.Fatalf("%s: %v", sql, res.Err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("%s: got %d rows; want 1 row of 1 column", sql, len(res.Rows))
	}
	return string(res.Rows[0][0])
}

// TestStartTransactionPooling: queries pass through, the pool runs in
// transaction mode, and many clients share at most PoolSize server
// connections.
func TestStartTransactionPooling(t *testing.T) {
	db := pgtest.NewDatabase(t, "CREATE TABLE t (x int)")
	b := Start(t, db)
	if b.PoolSize() != DefaultPoolSize {
		t.Fatalf("got PoolSize %d; want %d", b.PoolSize(), DefaultPoolSize)
	}
	const clients = 8
	conns := make([]*pgconn.PgConn, clients)
	for i := range conns {
		conns[i] = connect(t, b.URL(), nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if _, err := c.Exec(context.Background(), "INSERT INTO t VALUES (1); SELECT pg_sleep(0.001)").ReadAll(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("query through pgbouncer: %v\n%s", err, b.Log())
	}
	if got := value(t, conns[0], "SELECT count(*) FROM t"); got != "160" {
		t.Fatalf("got %s rows; want 160", got)
	}

	var pools, servers int
	for _, p := range b.Show(t, "POOLS") {
		if p["database"] != "pgbouncer" {
			pools++
			if p["pool_mode"] != "transaction" {
				t.Fatalf("got pool_mode %q; want transaction", p["pool_mode"])
			}
		}
	}
	for _, s := range b.Show(t, "SERVERS") {
		if s["database"] != "pgbouncer" {
			servers++
		}
	}
	if pools != 1 || servers < 1 || servers > b.PoolSize() {
		t.Fatalf("got %d pools and %d server connections for %d clients; want 1 pool and 1..%d", pools, servers, clients, b.PoolSize())
	}
	// The upstream's own view agrees.
	direct := connect(t, db, nil)
	n, _ := strconv.Atoi(value(t, direct, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))
	if n < 1 || n > b.PoolSize() {
		t.Fatalf("got %d backends behind pgbouncer; want 1..%d", n, b.PoolSize())
	}
}

// TestNamedStatementsCollide is the hazard statement_cache: describe exists
// for: with one server connection shared by two clients, the second
// client's PREPARE of the same name finds the first one's.
func TestNamedStatementsCollide(t *testing.T) {
	b := StartWith(t, pgtest.NewDatabase(t), Options{PoolSize: 1})
	ctx := context.Background()
	c1, c2 := connect(t, b.URL(), nil), connect(t, b.URL(), nil)
	if _, err := c1.Prepare(ctx, "s", "SELECT 1", nil); err != nil {
		t.Fatal(err)
	}
	_, err := c2.Prepare(ctx, "s", "SELECT 2", nil)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("got %v; want prepared statement \"s\" already exists", err)
	}
}

// TestStartupParameters: PgBouncer refuses a startup parameter it neither
// tracks nor ignores, and accepts (without applying) an ignored one.
func TestStartupParameters(t *testing.T) {
	db := pgtest.NewDatabase(t)
	strict := StartWith(t, db, Options{IgnoreStartupParameters: []string{"extra_float_digits"}})
	cfg, err := pgconn.ParseConfig(strict.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["statement_timeout"] = "1234"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err == nil {
		conn.Close(ctx)
		t.Fatal("pgbouncer accepted statement_timeout in the startup packet; want it refused")
	}
	if !strings.Contains(err.Error(), "unsupported startup parameter") {
		t.Fatalf("got %v; want unsupported startup parameter", err)
	}

	lenient := Start(t, db)
	c := connect(t, lenient.URL(), map[string]string{"statement_timeout": "1234", "application_name": "tp"})
	if got := value(t, c, "SHOW statement_timeout"); got == "1234ms" {
		t.Fatalf("got statement_timeout %s; want it ignored", got)
	}
	// application_name is one PgBouncer tracks: it is applied.
	if got := value(t, c, "SHOW application_name"); got != "tp" {
		t.Fatalf("got application_name %q; want tp", got)
	}
}
