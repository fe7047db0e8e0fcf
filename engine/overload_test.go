package engine

import (
	"bufio"
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
	"go.uber.org/goleak"
)

func TestGateFullAnswers503WithinAcquireTimeout(t *testing.T) {
	f := newQueryFixture(t, "")
	f.query(t, tokRW, `{"query":"SELECT 1"}`).expect(t, 200)
	// Everything running now (cluster, servers, pools) is expected; what
	// the overload below starts must be gone once it is over.
	ignore := goleak.IgnoreCurrent()
	// The rw account has 2 connections: hold both with slow queries.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.query(t, tokRW, `{"query":"SELECT pg_sleep(1.5)"}`).expect(t, 200)
		}()
	}
	time.Sleep(300 * time.Millisecond)
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
			if waited > 300*time.Millisecond+700*time.Millisecond {
				t.Errorf("503 came after %s; want about acquire_timeout (300ms)", waited)
			}
		}()
	}
	rejected.Wait()
	wg.Wait()
	// The pool recovers once the slow queries end.
	f.query(t, tokRW, `{"query":"SELECT 1 AS ok"}`).expect(t, 200, `"ok":1`)
	testClient.CloseIdleConnections()
	// fasthttp keeps idle workers for a while (MaxIdleWorkerDuration): they
	// are its pool, not a leak.
	goleak.VerifyNone(t, ignore, goleak.IgnoreTopFunction("github.com/valyala/fasthttp.(*workerPool).workerFunc"))
}

func TestClientDisconnectCancelsQuery(t *testing.T) {
	f := newQueryFixture(t, "")
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"query":"SELECT pg_sleep(20) AS disconnect_probe"}`
	fmt.Fprintf(conn, "POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", tokAdmin, len(body), body)
	time.Sleep(300 * time.Millisecond)
	conn.Close()
	waitNoActivity(t, f.dbURL, "disconnect_probe")
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
