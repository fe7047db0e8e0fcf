package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	pgfast "github.com/pgfast/pgfast"
	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestOpenAPIDocument: the demo's document validates with kin-openapi,
// every demo route's live response validates against its own schema, and
// a route added by a reload shows up in the document.
func TestOpenAPIDocument(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t, string(pgfast.DemoSchema))
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := embedpg.LoadCustomers(ctx, conn, 50); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	demo := func(extra string) *config.Config {
		cfg, err := config.Parse(append(append([]byte{}, pgfast.DemoConfig...), extra...), "yaml")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Databases[config.MainDatabase] = config.NewDatabase(dbURL)
		return cfg
	}
	ts := startServer(t, demo(""), "")
	load := func() *openapi3.T {
		t.Helper()
		r := get(t, ts.url+"/openapi.json")
		r.expect(t, 200, `"openapi": "3.1.0"`)
		doc, err := openapi3.NewLoader().LoadFromData([]byte(r.body))
		if err != nil {
			t.Fatalf("loading the document: %v", err)
		}
		if err := doc.Validate(ctx); err != nil {
			t.Fatalf("the document does not validate: %v", err)
		}
		return doc
	}
	doc := load()
	check := func(method, docPath, url, body string, status int, headers ...string) {
		t.Helper()
		item := doc.Paths.Find(docPath)
		if item == nil {
			t.Fatalf("no path %s in the document", docPath)
		}
		op := item.GetOperation(method)
		if op == nil {
			t.Fatalf("no %s %s in the document", method, docPath)
		}
		resp := op.Responses.Status(status)
		if resp == nil || resp.Value.Content.Get("application/json") == nil {
			t.Fatalf("%s %s: no JSON response %d in the document", method, docPath, status)
		}
		r := do(t, method, url, body, headers...)
		r.expect(t, status)
		var v any
		if err := json.Unmarshal([]byte(r.body), &v); err != nil {
			t.Fatal(err)
		}
		schema := resp.Value.Content.Get("application/json").Schema.Value
		if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Fatalf("%s %s: the live response does not match its schema: %v\n%s", method, url, err, clip(r.body))
		}
	}
	check("GET", "/customers/{id}", ts.url+"/customers/7", "", 200)
	check("GET", "/customers/{id}", ts.url+"/customers/999999", "", 404)
	check("GET", "/customers", ts.url+"/customers?limit=5", "", 200)
	check("GET", "/customers-count", ts.url+"/customers-count", "", 200)
	check("POST", "/v1/query", ts.url+"/v1/query", `{"query":"SELECT customer_id, email FROM customer LIMIT 3"}`, 200,
		"Authorization", "Bearer sk_demo_local_only")
	check("GET", "/ping", ts.url+"/ping", "", 200)

	next := demo("")
	next.Routes = append(next.Routes, parseConfig(t, `
routes:
  - {name: added, path: "/added/{id}", sql: "SELECT $1::int AS n", params: [path.id]}
`).Routes...)
	if err := ts.e.ReloadConfig(ctx, next); err != nil {
		t.Fatal(err)
	}
	doc = load()
	if doc.Paths.Find("/added/{id}") == nil {
		t.Fatal("a route added by a reload is missing from the document")
	}
	check("GET", "/added/{id}", ts.url+"/added/5", "", 200)
	if strings.Contains(get(t, ts.url+"/openapi.json").body, `"x-pgfast-upstream"`) {
		t.Fatal("the demo has no upstream route")
	}
}
