package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestGateFullAnswers503WithinAcquireTimeout(t *testing.T) {
	f := newQueryFixture(t, "")
	f.query(t, tokRW, `{"query":"SELECT 1"}`).expect(t, 200)
	// The rw account has 2 connections: hold both with queries that wait for
	// a lock the test holds, so they stay held until the test lets go, on a
	// slow machine too.
	lock, err := pgx.Connect(context.Background(), f.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(context.Background())
	tx, err := lock.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), "LOCK TABLE items IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	// Everything running now (cluster, servers, pools) is expected; what
	// the overload below starts must be gone once it is over.
	ignore := goleak.IgnoreCurrent()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.query(t, tokRW, `{"query":"SELECT count(*) AS held FROM items"}`).expect(t, 200, `"held":3`)
		}()
	}
	waitBackends(t, f.dbURL, "AS held", 2)
	before := accountPool(t, f.admin, "rw")
	if before.InUse != 2 {
		t.Fatalf("got %d connections of account rw in use; want 2 (both held by the blocked queries)", before.InUse)
	}
	var rejected sync.WaitGroup
	for i := 0; i < 5; i++ {
		rejected.Add(1)
		go func() {
			defer rejected.Done()
			start := time.Now()
			r := f.query(t, tokRW, `{"query":"SELECT 1"}`)
			waited := time.Since(start)
			r.expect(t, 503, `"code":"unavailable"`)
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("got Retry-After %q; want a positive integer", r.header.Get("Retry-After"))
			}
			if waited < 300*time.Millisecond {
				t.Errorf("503 came after %s; want it only once acquire_timeout (300ms) passed at the gate", waited)
			}
		}()
	}
	// The connections stay held until the commit below, so every answer
	// that comes at all came from the gate giving up, not from a connection
	// freeing. The bound only turns a gate that never gives up into a
	// failure instead of a hang; it is far above acquire_timeout.
	answered := make(chan struct{})
	go func() {
		rejected.Wait()
		close(answered)
	}()
	select {
	case <-answered:
	case <-time.After(20 * time.Second):
		tx.Rollback(context.Background())
		<-answered
		wg.Wait()
		t.Fatal("requests to the full rw pool got no answer in 20s while both its connections stayed held; want 503 after acquire_timeout (300ms)")
	}
	after := accountPool(t, f.admin, "rw")
	if got := after.GateRejected - before.GateRejected; got != 5 {
		t.Fatalf("the rw gate counted %d rejections; want 5, one per 503", got)
	}
	if after.InUse != 2 {
		t.Fatalf("got %d connections of account rw in use after the 503s; want 2, still held", after.InUse)
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// The pool recovers once the slow queries end.
	f.query(t, tokRW, `{"query":"SELECT 1 AS ok"}`).expect(t, 200, `"ok":1`)
	testClient.CloseIdleConnections()
	// fasthttp keeps idle workers for a while (MaxIdleWorkerDuration): they
	// are its pool, not a leak.
	goleak.VerifyNone(t, leakChecks(ignore)...)
}

func TestClientDisconnectCancelsQuery(t *testing.T) {
	f := newQueryFixture(t, "")
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"query":"SELECT pg_sleep(60) AS disconnect_probe"}`
	fmt.Fprintf(conn, "POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", tokAdmin, len(body), body)
	// The client goes away while its query runs, not before it started.
	pid := waitBackends(t, f.dbURL, "AS disconnect_probe", 1)[0]
	conn.Close()
	// The query ends by itself only after 60s, and the default
	// statement_timeout (30s) would end it sooner still: within 10s it can
	// only have been cancelled.
	db := connect(t, f.dbURL)
	poll(t, 10*time.Second, func() (bool, string) {
		var active bool
		if err := db.QueryRow(context.Background(),
			"SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", pid).Scan(&active); err != nil {
			t.Fatal(err)
		}
		return !active, fmt.Sprintf("backend %d still runs the query of a client that disconnected", pid)
	})
}

// waitBackends waits until n backends of the database at dbURL run a
// statement containing text, and returns their pids. It fails the test
// after 10s.
func waitBackends(t *testing.T, dbURL, text string, n int) []int32 {
	t.Helper()
	db := connect(t, dbURL)
	// A test failing before its queries end would leave them running.
	t.Cleanup(func() {
		db.Exec(context.Background(), "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%'||$1||'%' AND pid <> pg_backend_pid()", text)
	})
	var pids []int32
	poll(t, 10*time.Second, func() (bool, string) {
		pids = pids[:0]
		rows, err := db.Query(context.Background(),
			"SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%'||$1||'%' AND pid <> pg_backend_pid()", text)
		if err != nil {
			t.Fatal(err)
		}
		pids, err = pgx.AppendRows(pids, rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return len(pids) == n, fmt.Sprintf("got %d backends running %q; want %d", len(pids), text, n)
	})
	return pids
}

// connect opens a connection to dbURL, closed when the test ends.
func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	db, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

// poll calls cond every 20ms until it reports done, and fails the test with
// cond's last description of the state once within has passed.
func poll(t *testing.T, within time.Duration, cond func() (done bool, state string)) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.NewTimer(within)
	defer timeout.Stop()
	for {
		done, state := cond()
		if done {
			return
		}
		select {
		case <-tick.C:
		case <-timeout.C:
			t.Fatalf("%s after %s", state, within)
		}
	}
}

// accountPoolStats is the part of an account's pool.Stats the tests read.
type accountPoolStats struct {
	InUse        int32
	GateRejected int64
}

// accountPool reads an account's pool counters from GET /admin/stats.
func accountPool(t *testing.T, admin, account string) accountPoolStats {
	t.Helper()
	r := do(t, "GET", admin+"/admin/stats", "")
	r.expect(t, 200)
	var st struct {
		Accounts map[string]struct{ Pool accountPoolStats }
	}
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatalf("/admin/stats: %v", err)
	}
	acc, ok := st.Accounts[account]
	if !ok {
		t.Fatalf("/admin/stats has no account %q:\n%s", account, r.body)
	}
	return acc.Pool
}

func TestQueryBodyLimits(t *testing.T) {
	f := newQueryFixture(t, "server: {max_body_bytes: 256}\n")
	big := `{"query":"SELECT 1","params":["` + strings.Repeat("x", 1000) + `"]}`
	f.query(t, tokRO, big).expect(t, 413, `"code":"too_large"`)
	f.query(t, tokRO, `{"query":"SELECT 1 AS a"}`).expect(t, 200)
}

func TestLargeResultStreams(t *testing.T) {
	f := newQueryFixture(t, "")
	r := f.query(t, tokAdmin, `{"query":"SELECT g AS n, repeat('x', 100) AS pad FROM generate_series(1, 20000) g"}`)
	r.expect(t, 200, `"row_count":20000,"truncated":false`)
	var got struct {
		Rows []struct{ N int } `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("streamed body is not valid JSON: %v", err)
	}
	if len(got.Rows) != 20000 || got.Rows[19999].N != 20000 {
		t.Fatalf("got %d rows; want 20000 in order", len(got.Rows))
	}
	// An error after the status went out: the body must end truncated
	// (the connection drops), never as complete-looking JSON.
	resp, err := func() (*http.Response, error) {
		req, _ := http.NewRequest("POST", f.url+"/v1/query", strings.NewReader(
			`{"query":"SELECT CASE WHEN g < 15000 THEN g ELSE 1/(g-g) END AS n, repeat('x', 100) AS pad FROM generate_series(1, 20000) g"}`))
		req.Header.Set("Authorization", "Bearer "+tokAdmin)
		return testClient.Do(req)
	}()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("got status %d; want 200 (the error comes after streaming began)", resp.StatusCode)
	}
	b, err := io.ReadAll(bufio.NewReader(resp.Body))
	if err == nil {
		t.Fatalf("read a complete body of %d bytes ending %q; want a truncated one", len(b), b[max(0, len(b)-40):])
	}
	if json.Valid(b) {
		t.Fatal("truncated body is valid JSON")
	}
}

func TestAuditLog(t *testing.T) {
	f := newQueryFixture(t, "")
	f.query(t, tokRO, `{"query":"SELECT name FROM items WHERE name = $1","params":["secret-value"]}`).expect(t, 200)
	f.query(t, tokRO, `{"query":"SELECT * FROM nope WHERE a = 'lit'"}`).expect(t, 400)
	lines := strings.Split(strings.TrimSpace(f.audit.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d audit lines; want 2:\n%s", len(lines), f.audit.String())
	}
	var ok, bad map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ok); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &bad); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"account": "ro", "outcome": "ok", "rows": float64(0), "params_redacted": float64(1),
		"statement": "SELECT name FROM items WHERE name = $1"} {
		if ok[k] != want {
			t.Fatalf("audit %s: got %v; want %v (line %s)", k, ok[k], want, lines[0])
		}
	}
	if ok["fingerprint"] == "" || ok["duration_ms"] == nil {
		t.Fatalf("audit line lacks fingerprint or duration: %s", lines[0])
	}
	if bad["outcome"] != "bad_request" || bad["sqlstate"] != "42P01" {
		t.Fatalf("got %s; want outcome bad_request, sqlstate 42P01", lines[1])
	}
	if strings.Contains(f.audit.String(), "secret-value") || strings.Contains(f.audit.String(), "'lit'") {
		t.Fatal("audit log holds a literal or a param value")
	}
}

func TestAuditParamsWhenEnabled(t *testing.T) {
	f := newQueryFixture(t, "log: {audit_params: true}\n")
	f.query(t, tokRO, `{"query":"SELECT $1::text AS a","params":["shown"]}`).expect(t, 200)
	if !strings.Contains(f.audit.String(), `"params":["shown"]`) {
		t.Fatalf("got %s; want the params", f.audit.String())
	}
}
