package engine

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgfast/pgfast/embedpg"
)

// listenerPID returns the backend pid of pgfast's invalidation listener on
// the database conn is connected to, or 0 when there is none.
func listenerPID(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var pid int
	err := conn.QueryRow(context.Background(), `
SELECT pid FROM pg_stat_activity
WHERE application_name LIKE '% invalidation' AND query = 'LISTEN `+InvalidateChannel+`'
ORDER BY backend_start DESC LIMIT 1`).Scan(&pid)
	if err == pgx.ErrNoRows {
		return 0
	}
	if err != nil {
		t.Fatalf("looking for the listener: %v", err)
	}
	return pid
}

// breakListener terminates the listener's backend and waits until pgfast
// has listened again on a new one: the gap is over, and what pgfast does
// about a gap has been done.
func breakListener(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	old := waitListener(t, conn, 0)
	if _, err := conn.Exec(context.Background(), "SELECT pg_terminate_backend($1)", old); err != nil {
		t.Fatal(err)
	}
	waitListener(t, conn, old)
}

// waitListener waits up to 10s for a listener whose pid is not notPID.
func waitListener(t *testing.T, conn *pgx.Conn, notPID int) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if pid := listenerPID(t, conn); pid != 0 && pid != notPID {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no invalidation listener (other than pid %d) within 10s", notPID)
		}
	}
}

// getUntil polls url until its body contains want, for up to 5s.
func getUntil(t *testing.T, url, want string) response {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r := get(t, url)
		if r.status == 200 && contains(r.body, want) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: got %d %s; want 200 with %s within 5s", url, r.status, clip(r.body), want)
		}
	}
}

var purgesMetric = regexp.MustCompile(`(?m)^pgfast_cache_purges_total (\d+)`)

func cachePurges(t *testing.T, ts *testServer) int {
	t.Helper()
	m := purgesMetric.FindStringSubmatch(get(t, ts.admin+"/metrics").body)
	if m == nil {
		t.Fatal("no pgfast_cache_purges_total in /metrics")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestLISTENGapMarksStale: when the invalidation listener loses its
// connection, the entries of routes with invalidate_on stop being fresh but
// stay servable by stale_if_error; only a NOTIFY purges them. The database
// going down breaks the LISTEN too, so purging on a gap made stale_if_error
// useless for exactly those routes.
func TestLISTENGapMarksStale(t *testing.T) {
	c, err := embedpg.Start(context.Background(), embedpg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	conn, err := pgx.Connect(context.Background(), c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE TABLE kv (k int PRIMARY KEY, v text); INSERT INTO kv VALUES (1, 'first')")
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
databases: {main: {url: %q, connect_timeout: 1s, acquire_timeout: 1s}}
routes:
  - name: kv
    path: /kv/{k}
    sql: SELECT k, v FROM kv WHERE k = $1
    params: [path.k]
    cache: 60s
    invalidate_on: [kv]
    stale_if_error: 1h
  - name: notified
    path: /notified/{k}
    sql: SELECT k, v FROM kv WHERE k = $1
    params: [path.k]
    cache: 60s
    invalidate_on: [notified]
    stale_if_error: 1h
`, c.URL())), "")
	get(t, ts.url+"/kv/1").expect(t, 200, `"v":"first"`)

	// A NOTIFY purges: the next request reads the new row.
	exec("UPDATE kv SET v = 'second'; NOTIFY " + InvalidateChannel + ", 'kv'")
	getUntil(t, ts.url+"/kv/1", `"v":"second"`)

	// A gap with the database up: the entry is no longer fresh, so the next
	// request reads again and sees a change whose NOTIFY nobody sent.
	exec("UPDATE kv SET v = 'third'")
	get(t, ts.url+"/kv/1").expect(t, 200, `"v":"second"`)
	breakListener(t, conn)
	getUntil(t, ts.url+"/kv/1", `"v":"third"`)

	// A gap, then the database goes down: the last good body is served,
	// as stale, with Age.
	get(t, ts.url+"/kv/1").expect(t, 200, `"v":"third"`)
	get(t, ts.url+"/notified/1").expect(t, 200, `"v":"third"`)
	breakListener(t, conn)
	// A NOTIFY after the gap still purges, stale or not: fresh data wins.
	before := cachePurges(t, ts)
	exec("NOTIFY " + InvalidateChannel + ", 'notified'")
	for deadline := time.Now().Add(5 * time.Second); cachePurges(t, ts) == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the NOTIFY was not heard within 5s")
		}
	}
	conn.Close(context.Background())
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	r := get(t, ts.url+"/kv/1")
	r.expect(t, 200, `"v":"third"`)
	if r.header.Get("Age") == "" {
		t.Fatal("a stale body was served without Age")
	}
	get(t, ts.url+"/notified/1").expect(t, 503, `"code":"unavailable"`)
	get(t, ts.admin+"/metrics").expect(t, 200, "pgfast_cache_stale_served_total 1")
}
