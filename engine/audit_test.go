package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/sqlclass"
)

// openSearchStandIn is an in-test OpenSearch _bulk endpoint: every 3rd
// request answers 429, the rest take every document. It keeps the
// documents it took.
type openSearchStandIn struct {
	mu   sync.Mutex
	n    int
	docs []map[string]any
	bad  []string
}

func (o *openSearchStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n++
	if r.URL.Path != "/_bulk" || r.Header.Get("Content-Type") != "application/x-ndjson" || r.Header.Get("Authorization") != "Bearer os-token" {
		o.bad = append(o.bad, fmt.Sprintf("%s %s %q %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization")))
	}
	if o.n%3 == 0 {
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	var docs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	for i := 0; sc.Scan(); i++ {
		if i%2 == 0 {
			if sc.Text() != `{"index":{"_index":"audit-test"}}` {
				o.bad = append(o.bad, "action line "+sc.Text())
			}
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			o.bad = append(o.bad, "doc "+sc.Text())
		}
		docs = append(docs, d)
	}
	o.docs = append(o.docs, docs...)
	fmt.Fprint(w, `{"errors":false,"items":[]}`)
}

// find returns the documents whose msg is msg and whose key holds value.
func (o *openSearchStandIn) find(msg, key, value string) []map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []map[string]any
	for _, d := range o.docs {
		if d["msg"] == msg && fmt.Sprint(d[key]) == value {
			out = append(out, d)
		}
	}
	return out
}

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAuditOpenSearchRoutesAndSlowQueries(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, querySchema)
	stand := &openSearchStandIn{}
	osSrv := httptest.NewServer(stand)
	defer osSrv.Close()
	cfg := parseConfig(t, fmt.Sprintf(`
databases:
  main: {url: %q, slow_query: 50ms}
accounts:
  - {id: ro, name: Reader, api_token: %s, allowed_operations: [SELECT]}
routes:
  - name: item
    path: /items/{id}
    sql: SELECT id, name FROM items WHERE id = $1
    params: [path.id]
    result: one
  - name: nap
    path: /nap
    sql: SELECT 1 AS one FROM pg_sleep(0.08)
    result: value
log:
  audit:
    routes: true
    opensearch: {url: %q, token: os-token, index: audit-test, batch: 2, flush_interval: 20ms}
`, dbURL, tokRO, osSrv.URL))
	audit, logs := &syncBuffer{}, &syncBuffer{}
	e, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), AuditWriter: audit})
	if err != nil {
		t.Fatal(err)
	}
	ts := serveEngine(t, e)

	get(t, ts.url+"/items/2").expect(t, 200, `"two"`)
	get(t, ts.url+"/items/99").expect(t, 404)
	get(t, ts.url+"/nap").expect(t, 200)
	const slowSQL = "SELECT 7 AS seven FROM pg_sleep(0.08) WHERE 'secret-literal' <> ''"
	do(t, "POST", ts.url+"/v1/query", `{"query":"SELECT name FROM items WHERE id = $1","params":[1]}`, "Authorization", "Bearer "+tokRO).expect(t, 200, `"one"`)
	do(t, "POST", ts.url+"/v1/query", fmt.Sprintf(`{"query":%q}`, slowSQL), "Authorization", "Bearer "+tokRO).expect(t, 200)

	// The route lines and the raw query's reach OpenSearch, through the 429s.
	waitFor(t, "the audit lines in OpenSearch", func() bool {
		return len(stand.find("route", "route", "item")) == 2 && len(stand.find("route", "route", "nap")) == 1 &&
			len(stand.find("query", "account", "ro")) == 2
	})
	items := stand.find("route", "route", "item")
	statuses := fmt.Sprint(items[0]["status"], items[1]["status"])
	if statuses != "200 404" || items[0]["params_redacted"] != 1.0 || items[0]["method"] != "GET" {
		t.Errorf("route lines: got %v; want statuses 200 then 404, one redacted param, GET", items)
	}
	hash, _ := sqlclass.Fingerprint("SELECT name FROM items WHERE id = $1")
	if q := stand.find("query", "fingerprint", hash); len(q) != 1 || q[0]["outcome"] != "ok" {
		t.Errorf("raw query line: got %v; want one with fingerprint %s", q, hash)
	}
	// OpenSearch is an extra copy: every line is in the local audit log too.
	if local := strings.Count(audit.String(), "\n"); local != 5 {
		t.Errorf("local audit log: got %d lines; want 5:\n%s", local, audit.String())
	}
	stand.mu.Lock()
	for _, b := range stand.bad {
		t.Errorf("stand-in saw a bad request: %s", b)
	}
	stand.mu.Unlock()

	// Slow queries: the route's and the raw query's, each with its
	// fingerprint; the literal stays out of the log.
	slowHash, slowNorm := sqlclass.Fingerprint(slowSQL)
	var slow []map[string]any
	for line := range strings.SplitSeq(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "slow query" {
			slow = append(slow, m)
		}
	}
	var route, raw bool
	for _, m := range slow {
		if m["database"] != "main" || m["duration_ms"].(float64) < 50 {
			t.Errorf("slow query line %v: want database main and duration_ms >= 50", m)
		}
		switch {
		case m["route"] == "nap":
			route = m["fingerprint"] != nil && m["account"] == nil
		case m["account"] == "ro":
			raw = m["fingerprint"] == slowHash && m["statement"] == slowNorm
		default:
			t.Errorf("unexpected slow query line %v", m)
		}
	}
	if !route || !raw || strings.Contains(logs.String(), "secret-literal") {
		t.Errorf("slow query lines: got %v; want one for route nap and one for account ro with fingerprint %s, no literal", slow, slowHash)
	}

	get(t, ts.admin+"/admin/stats").expect(t, 200, `"audit":{"sent":`, `"dropped":0`)
	get(t, ts.admin+"/metrics").expect(t, 200, "pgfast_audit_sent_total", "pgfast_audit_dropped_total 0", "pgfast_audit_retries_total")
}

func TestAuditRoutesOff(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, querySchema)
	cfg := parseConfig(t, fmt.Sprintf(`
databases:
  main: {url: %q}
routes:
  - {name: item, path: "/items/{id}", sql: "SELECT id, name FROM items WHERE id = $1", params: [path.id], result: one}
log: {audit: {routes: false}, audit_params: true}
`, dbURL))
	audit := &syncBuffer{}
	e, err := New(context.Background(), cfg, Options{Logger: discardLogger(), AuditWriter: audit})
	if err != nil {
		t.Fatal(err)
	}
	ts := serveEngine(t, e)
	get(t, ts.url+"/items/2").expect(t, 200)
	if audit.String() != "" {
		t.Errorf("got audit lines with log.audit.routes off: %s", audit.String())
	}
	if e.Stats().Audit != nil {
		t.Errorf("got audit stats without log.audit.opensearch")
	}
}

func TestAuditRouteParams(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, querySchema)
	cfg := parseConfig(t, fmt.Sprintf(`
databases:
  main: {url: %q}
routes:
  - {name: item, path: "/items/{id}", sql: "SELECT id, name FROM items WHERE id = $1", params: [path.id], result: one}
log: {audit: {file: "", routes: true}, audit_params: true}
`, dbURL))
	audit := &syncBuffer{}
	e, err := New(context.Background(), cfg, Options{Logger: discardLogger(), AuditWriter: audit})
	if err != nil {
		t.Fatal(err)
	}
	ts := serveEngine(t, e)
	get(t, ts.url+"/items/2").expect(t, 200)
	if got := audit.String(); !strings.Contains(got, `"msg":"route","route":"item","method":"GET","status":200`) ||
		!strings.Contains(got, `"params":["2"],"outcome":"ok"`) {
		t.Errorf("got audit %s; want the route line with its params", got)
	}
}
