package embedpg_test

import (
	"context"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgfast/pgfast/embedpg"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestMain(m *testing.M) { pgtest.RunMain(m) }

func readSchema(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSharedClusterAnswers(t *testing.T) {
	c := pgtest.Shared(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != "postgres" {
		t.Fatalf("got user %q; want postgres", user)
	}
	if pgtest.Shared(t) != c {
		t.Fatal("Shared started a second cluster")
	}
}

func TestLoadDemoIsDeterministicAndIdempotent(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	schema := readSchema(t)
	loaded, err := embedpg.LoadDemo(ctx, url, schema, 2000)
	if err != nil || !loaded {
		t.Fatalf("embedpg.LoadDemo: loaded=%v err=%v; want loaded", loaded, err)
	}
	loaded, err = embedpg.LoadDemo(ctx, url, schema, 2000)
	if err != nil || loaded {
		t.Fatalf("second embedpg.LoadDemo: loaded=%v err=%v; want a no-op", loaded, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	var avgLen float64
	if err := conn.QueryRow(ctx, "SELECT count(*), avg(length(row_to_json(c)::text)) FROM customer c").Scan(&n, &avgLen); err != nil {
		t.Fatal(err)
	}
	if n != 2000 {
		t.Fatalf("got %d customers; want 2000", n)
	}
	if avgLen < 900 || avgLen > 1200 {
		t.Fatalf("got average row JSON of %.0f bytes; want about 1 KB", avgLen)
	}
	// The same id gives the same row in another database.
	url2 := pgtest.NewDatabase(t)
	if _, err := embedpg.LoadDemo(ctx, url2, schema, 10); err != nil {
		t.Fatal(err)
	}
	conn2, err := pgx.Connect(ctx, url2)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close(ctx)
	q := "SELECT row_to_json(c)::text FROM customer c WHERE customer_id = 7"
	var a, b string
	if err := conn.QueryRow(ctx, q).Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := conn2.QueryRow(ctx, q).Scan(&b); err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("row 7 differs between loads:\n%s\n%s", a, b)
	}
}

func TestPersistentClusterReusesDataDir(t *testing.T) {
	// The cluster may run as another user (when tests run as root): it
	// must be able to reach its directory, which t.TempDir's 0700 parent
	// would forbid.
	parent, err := os.MkdirTemp("", "pgfast-persist-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "pg")
	ctx := context.Background()
	c, err := embedpg.Start(ctx, embedpg.Options{Dir: dir, Persistent: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Fresh {
		t.Fatal("first start: Fresh=false; want true")
	}
	if _, err := embedpg.LoadDemo(ctx, c.URL(), readSchema(t), 10); err != nil {
		c.Stop()
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("data dir gone after Stop of a persistent cluster: %v", err)
	}
	c2, err := embedpg.Start(ctx, embedpg.Options{Dir: dir, Persistent: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	if c2.Fresh {
		t.Fatal("second start: Fresh=true; want the data dir reused")
	}
	loaded, err := embedpg.LoadDemo(ctx, c2.URL(), readSchema(t), 10)
	if err != nil || loaded {
		t.Fatalf("embedpg.LoadDemo on reused cluster: loaded=%v err=%v; want no reload", loaded, err)
	}
}

func TestThrowawayClusterRemovesItsDir(t *testing.T) {
	c, err := embedpg.Start(context.Background(), embedpg.Options{StartTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dir := c.Dir()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v; want idempotent", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("got %v for %s after Stop; want it removed", err, dir)
	}
}

func TestFindBinariesNamesMakeDeps(t *testing.T) {
	_, err := embedpg.FindBinaries(t.TempDir())
	if err == nil {
		t.Fatal("embedpg.FindBinaries(empty dir) succeeded; want an error")
	}
	if want := "make deps"; !strings.Contains(err.Error(), want) {
		t.Fatalf("got %q; want it to mention %q", err, want)
	}
}

// TestDemoRoleReadsOnly: the demo account's login role reads the demo
// table and can do nothing a superuser could. (Any role may create large
// objects; the classifier and the read-only session stop those.)
func TestDemoRoleReadsOnly(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	if _, err := embedpg.LoadDemo(ctx, url, readSchema(t), 10); err != nil {
		t.Fatal(err)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.User(embedpg.DemoRole)
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM customer").Scan(&n); err != nil || n != 10 {
		t.Fatalf("SELECT as %s: %d rows, %v; want 10", embedpg.DemoRole, n, err)
	}
	for _, sql := range []string{
		"SELECT pg_read_file('postgresql.conf')",
		"SELECT pg_reload_conf()",
		"UPDATE customer SET first_name = 'x'",
		"DELETE FROM customer",
		"CREATE TABLE evil (x int)",
		"COPY customer TO PROGRAM 'true'",
	} {
		if _, err := conn.Exec(ctx, sql); err == nil {
			t.Errorf("%s: succeeded as %s; want a privilege error", sql, embedpg.DemoRole)
		}
	}
	var super bool
	if err := conn.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || super {
		t.Fatalf("demo role superuser=%v (%v); want false", super, err)
	}
}
