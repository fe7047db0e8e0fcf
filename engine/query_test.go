package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

const querySchema = `
CREATE TABLE items (id int PRIMARY KEY, name text UNIQUE NOT NULL, qty int NOT NULL CHECK (qty >= 0), big numeric);
INSERT INTO items VALUES (1, 'one', 1, 12345678901234567890.123456789), (2, 'two', 2, NULL), (3, 'three', 3, -1);
CREATE TABLE audit_sink (msg text);
CREATE TABLE deferred (x int UNIQUE DEFERRABLE INITIALLY DEFERRED);
CREATE FUNCTION write_fn() RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO items VALUES (100, 'sneaky', 1) RETURNING 1 $$;
`

// queryFixture is a server with three accounts over the items table.
type queryFixture struct {
	*testServer
	dbURL string
	audit *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const (
	tokRO    = "sk_test_readonly"
	tokRW    = "sk_test_readwrite"
	tokAdmin = "sk_test_admin"
	tokSHA   = "sk_test_hashed"
)

func newQueryFixture(t *testing.T, extra string) *queryFixture {
	t.Helper()
	dbURL := pgtest.NewDatabase(t, querySchema)
	sum := sha256.Sum256([]byte(tokSHA))
	cfg := parseConfig(t, fmt.Sprintf(`
databases:
  main: {url: %q, max_conns: 4, acquire_timeout: 300ms}
accounts:
  - {id: ro, name: Reader, api_token: %s, allowed_operations: [SELECT], max_rows: 2, query_timeout: 500ms, max_connections: 3}
  - {id: rw, name: Writer, api_token: %s, allowed_operations: [SELECT, INSERT, UPDATE, DELETE], max_connections: 2}
  - {id: admin, name: Admin, api_token: %s, allowed_operations: [ALL], max_rows: 0}
  - {id: hashed, name: Hashed, api_token_sha256: %s, allowed_operations: [SELECT]}
%s`, dbURL, tokRO, tokRW, tokAdmin, hex.EncodeToString(sum[:]), extra))
	audit := &syncBuffer{}
	e, err := New(context.Background(), cfg, Options{Logger: discardLogger(), AuditWriter: audit})
	if err != nil {
		t.Fatal(err)
	}
	ts := serveEngine(t, e)
	return &queryFixture{testServer: ts, dbURL: dbURL, audit: audit}
}

func (f *queryFixture) query(t *testing.T, token, body string) response {
	t.Helper()
	return do(t, "POST", f.url+"/v1/query", body, "Authorization", "Bearer "+token)
}

func (f *queryFixture) itemCount(t *testing.T) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), f.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestQueryResultShape(t *testing.T) {
	f := newQueryFixture(t, "")
	r := f.query(t, tokAdmin, `{"query":"SELECT id, name, big FROM items WHERE id <= $1 ORDER BY id","params":[2]}`)
	r.expect(t, 200)
	var got struct {
		Columns []struct{ Name, Type string }
		Rows    []map[string]any
		RowCnt  int     `json:"row_count"`
		Trunc   bool    `json:"truncated"`
		Dur     float64 `json:"duration_ms"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	wantCols := "id:int4,name:text,big:numeric"
	var cols []string
	for _, c := range got.Columns {
		cols = append(cols, c.Name+":"+c.Type)
	}
	if strings.Join(cols, ",") != wantCols {
		t.Fatalf("got columns %v; want %s", cols, wantCols)
	}
	if !strings.Contains(r.body, `"rows":[{"id":1,"name":"one","big":12345678901234567890.123456789},{"id":2,"name":"two","big":null}]`) {
		t.Fatalf("got %s; want both rows with exact numerics", r.body)
	}
	if got.RowCnt != 2 || got.Trunc || got.Dur <= 0 {
		t.Fatalf("got row_count=%d truncated=%v duration_ms=%v; want 2, false, > 0", got.RowCnt, got.Trunc, got.Dur)
	}
	// format: array, and params keep JSON number precision.
	r = f.query(t, tokAdmin, `{"query":"SELECT $1::int8 AS a, $2::numeric AS b, $3::text AS c","params":[9007199254740993, 0.1000000000000000000001, "x"],"format":"array"}`)
	r.expect(t, 200, `"rows":[[9007199254740993,0.1000000000000000000001,"x"]]`)
	// max_rows truncates; row_count is the rows returned.
	r = f.query(t, tokRO, `{"query":"SELECT id FROM items ORDER BY id"}`)
	r.expect(t, 200, `"rows":[{"id":1},{"id":2}],"row_count":2,"truncated":true`)
}

func TestQueryAuth(t *testing.T) {
	f := newQueryFixture(t, "")
	body := `{"query":"SELECT 1 AS x"}`
	do(t, "POST", f.url+"/v1/query", body).expect(t, 401, `"code":"unauthorized"`, "missing Authorization")
	f.query(t, "sk_wrong", body).expect(t, 401, "invalid API token")
	do(t, "POST", f.url+"/v1/query", body, "Authorization", "Basic abc").expect(t, 401)
	f.query(t, tokSHA, body).expect(t, 200, `"rows":[{"x":1}]`)
	get(t, f.url+"/v1/account", "Authorization", "Bearer "+tokRO).expect(t, 200,
		`"id":"ro"`, `"name":"Reader"`, `"database":"main"`, `"allowed_operations":["SELECT"]`,
		`"rate_limit":{"limit":`, `"remaining":`, `"reset_seconds":`,
		`"pool":{"max_conns":3,"in_use":`, `"idle":`, `"acquire_count":`, `"empty_acquire_count":`)
	if strings.Contains(f.audit.String(), tokSHA) || strings.Contains(f.audit.String(), tokRO) {
		t.Fatal("a token appears in the audit log")
	}
}

func TestQueryErrorMapping(t *testing.T) {
	f := newQueryFixture(t, "")
	cases := []struct {
		body   string
		status int
		want   []string
	}{
		{`not json`, 400, []string{`"code":"bad_request"`, "not valid JSON"}},
		{``, 400, []string{"empty"}},
		{`{"query":"SELECT 1; SELECT 2"}`, 400, []string{"2 statements"}},
		{`{"query":"SELEC 1"}`, 400, []string{`"sqlstate":"42601"`, `"position":1`}},
		{`{"query":"SELECT * FROM nope"}`, 400, []string{`"sqlstate":"42P01"`}},
		{`{"query":"SELECT nope FROM items"}`, 400, []string{`"sqlstate":"42703"`}},
		{`{"query":"SELECT $1::int","params":["abc"]}`, 400, []string{"params[0]", "int4"}},
		{`{"query":"SELECT $1::int","params":[]}`, 400, []string{"takes 1 parameters; got 0"}},
		{`{"query":"SELECT 1","format":"csv"}`, 400, []string{"format"}},
		{`{"query":"SELECT 1","database":"other"}`, 403, []string{`"code":"forbidden"`}},
		{`{"query":"INSERT INTO items VALUES (1, 'dup', 1)"}`, 409, []string{`"code":"conflict"`, `"sqlstate":"23505"`, `"detail":"Key (id)=(1) already exists."`}},
		{`{"query":"INSERT INTO items VALUES (9, 'neg', -1)"}`, 422, []string{`"code":"invalid_input"`, `"sqlstate":"23514"`}},
		{`{"query":"INSERT INTO items VALUES (9, NULL, 1)"}`, 422, []string{`"sqlstate":"23502"`}},
		{`{"query":"SELECT 1/0"}`, 422, []string{`"sqlstate":"22012"`}},
		{`{"query":"SELECT 'x'::int"}`, 422, []string{`"sqlstate":"22P02"`}},
	}
	for _, c := range cases {
		r := f.query(t, tokRW, c.body)
		if r.status != c.status {
			t.Fatalf("%s: got %d %s; want %d", c.body, r.status, clip(r.body), c.status)
		}
		for _, w := range c.want {
			if !strings.Contains(r.body, w) {
				t.Fatalf("%s: got %s; want it to contain %s", c.body, r.body, w)
			}
		}
	}
	// The writer can write; conflicts left the table as it was plus one row.
	f.query(t, tokRW, `{"query":"INSERT INTO items VALUES (4, 'four', 4)"}`).expect(t, 200, `"row_count":0`)
	if n := f.itemCount(t); n != 4 {
		t.Fatalf("got %d items; want 4", n)
	}
}

// TestReadOnlyAccountCannotWrite tries to get a write past both layers: the
// classifier and PostgreSQL's read-only session.
func TestReadOnlyAccountCannotWrite(t *testing.T) {
	f := newQueryFixture(t, "")
	before := f.itemCount(t)
	tricks := []struct {
		sql    string
		status int
	}{
		{"INSERT INTO items VALUES (50, 'x', 1)", 403},
		{"/* hello */ DELETE FROM items", 403},
		{"WITH d AS (DELETE FROM items RETURNING *) SELECT count(*) FROM d", 403},
		{"WITH x AS (SELECT 1) UPDATE items SET qty = 0", 403},
		{"SET default_transaction_read_only = off", 403},
		{"COPY items FROM PROGRAM 'true'", 403},
		{"SELECT 1; DELETE FROM items", 400},
		{"SELECT write_fn()", 403},
		{"SELECT set_config('default_transaction_read_only', 'off', false), write_fn()", 403},
		{"SELECT set_config('transaction_read_only', 'off', true), write_fn()", 403},
		{"SELECT * FROM items FOR UPDATE", 403},
		{"EXPLAIN ANALYZE DELETE FROM items", 403},
		{"CREATE TABLE evil (a int)", 403},
		{"BEGIN READ WRITE", 403},
	}
	for _, tr := range tricks {
		body, _ := json.Marshal(map[string]string{"query": tr.sql})
		r := f.query(t, tokRO, string(body))
		if r.status != tr.status {
			t.Fatalf("%q: got %d %s; want %d", tr.sql, r.status, r.body, tr.status)
		}
	}
	// set_config is SET in function form: only ALL may call it, since it
	// could switch read-only off (or drop the role) for the connection's
	// next user.
	f.query(t, tokRO, `{"query":"SELECT set_config('role', 'none', false)"}`).expect(t, 403)
	f.query(t, tokRO, `{"query":"SELECT pg_catalog.set_config('default_transaction_read_only', 'off', false)"}`).expect(t, 403)
	// Batches get the same treatment, in both modes; in a non-transactional
	// batch each statement is pinned read-only by itself.
	batch := func(body string) response {
		return do(t, "POST", f.url+"/v1/batch", body, "Authorization", "Bearer "+tokRO)
	}
	batch(`{"queries":[{"query":"SELECT 1"},{"query":"SELECT write_fn()"}],"transaction":true}`).expect(t, 403, `"index":1`)
	batch(`{"queries":[{"query":"SELECT set_config('default_transaction_read_only','off',false)"},{"query":"SELECT write_fn()"}]}`).
		expect(t, 200, `{"error":{"code":"forbidden"`, `"sqlstate":"25006"`)
	batch(`{"queries":[{"query":"SELECT 1 AS one"},{"query":"SELECT write_fn()"},{"query":"SELECT 2 AS two"}]}`).
		expect(t, 200, `"rows":[{"one":1}]`, `"sqlstate":"25006"`, `"rows":[{"two":2}]`)
	if after := f.itemCount(t); after != before {
		t.Fatalf("items went from %d to %d; want unchanged", before, after)
	}
}

func TestQueryTimeoutCancelsOnServer(t *testing.T) {
	f := newQueryFixture(t, "")
	start := time.Now()
	f.query(t, tokRO, `{"query":"SELECT pg_sleep(5)"}`).expect(t, 504, `"code":"query_timeout"`, `"sqlstate":"57014"`)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout answered after %s; want about query_timeout (500ms)", d)
	}
	waitNoActivity(t, f.dbURL, "pg_sleep(5)")
}

// waitNoActivity fails the test unless no backend runs a query containing
// text within 2s.
func waitNoActivity(t *testing.T, dbURL, text string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(2 * time.Second)
	for {
		var n int
		err := conn.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%'||$1||'%' AND pid <> pg_backend_pid()", text).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends still run %q", n, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDynamicBodiesAreCompressed(t *testing.T) {
	f := newQueryFixture(t, "")
	for _, enc := range []string{"gzip", "br"} {
		req, _ := http.NewRequest("POST", f.url+"/v1/query", strings.NewReader(`{"query":"SELECT repeat('x', 5000) AS pad"}`))
		req.Header.Set("Authorization", "Bearer "+tokAdmin)
		req.Header.Set("Accept-Encoding", enc)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != enc || len(b) > 1000 {
			t.Fatalf("Accept-Encoding %s: got Content-Encoding %q and %d bytes; want a compressed body", enc, resp.Header.Get("Content-Encoding"), len(b))
		}
	}
	// A client that does not ask gets identity.
	req, _ := http.NewRequest("POST", f.url+"/v1/query", strings.NewReader(`{"query":"SELECT repeat('x', 5000) AS pad"}`))
	req.Header.Set("Authorization", "Bearer "+tokAdmin)
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || !strings.Contains(string(b), strings.Repeat("x", 5000)) {
		t.Fatalf("got Content-Encoding %q; want identity", resp.Header.Get("Content-Encoding"))
	}
}

func TestSchemaChangeUnderACachedStatement(t *testing.T) {
	f := newQueryFixture(t, "")
	q := `{"query":"SELECT * FROM items WHERE id = $1","params":[1]}`
	for i := 0; i < 3; i++ {
		f.query(t, tokAdmin, q).expect(t, 200, `"name":"one"`)
	}
	conn, err := pgx.Connect(context.Background(), f.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "ALTER TABLE items ADD COLUMN extra int DEFAULT 42"); err != nil {
		t.Fatal(err)
	}
	f.query(t, tokAdmin, q).expect(t, 200, `"extra":42`)
	f.query(t, tokAdmin, q).expect(t, 200, `"extra":42`)
}
