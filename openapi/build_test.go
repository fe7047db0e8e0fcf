package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func ptr[T any](v T) *T { return &v }

// sampleRoutes is a representative route table: every backend, result
// shape, parameter source and auth.
func sampleRoutes() []Route {
	return []Route{
		{
			Name: "customer", Methods: []string{"GET"}, Path: "/customers/{id}", Backend: "sql", Auth: "none",
			Params: []Param{{Name: "id", Source: "path", Type: "int4", Required: true}},
			Result: "one",
			Columns: []Column{
				{Name: "customer_id", Type: "int4"},
				{Name: "first_name", Type: "text"},
				{Name: "email", Type: "character varying(50)", Nullable: true},
				{Name: "balance", Type: "numeric(12,2)", Nullable: true},
				{Name: "big", Type: "bigint"},
				{Name: "ratio", Type: "float8", Nullable: true},
				{Name: "created", Type: "timestamptz"},
				{Name: "born", Type: "date", Nullable: true},
				{Name: "uid", Type: "uuid"},
				{Name: "photo", Type: "bytea", Nullable: true},
				{Name: "meta", Type: "jsonb", Nullable: true},
				{Name: "tags", Type: "text[]"},
				{Name: "scores", Type: "_int4", Nullable: true},
				{Name: "mood", Type: "mood", Nullable: true},
				{Name: "active", Type: "bool"},
				{Name: "span", Type: "interval", Nullable: true},
				{Name: "price", Type: "money", Nullable: true},
			},
			Cached: true,
		},
		{
			Name: "customers", Path: "/customers", Backend: "sql", Auth: "token",
			Params: []Param{
				{Name: "limit", Source: "query", Type: "int8", Default: ptr("10"), Max: ptr[int64](1000)},
				{Name: "since", Source: "query", Type: "timestamptz", Required: true},
				{Name: "X-Tenant", Source: "header", Type: "uuid", Required: true},
				{Name: "ids", Source: "query", Type: "integer[]"},
				{Name: "limit", Source: "query", Type: "int8"}, // the same parameter used twice
			},
			Result:      "many",
			Columns:     []Column{{Name: "customer_id", Type: "int4"}, {Name: "last_seen", Type: "timestamp", Nullable: true}},
			RateLimited: true,
		},
		{
			Name: "customer_count", Methods: []string{"GET"}, Path: "/stats/customers", Backend: "sql", Auth: "jwt",
			Params:  []Param{{Name: "sub", Source: "jwt", Type: "text", Required: true}},
			Result:  "value",
			Columns: []Column{{Name: "count", Type: "int8"}},
		},
		{
			Name: "create_customer", Methods: []string{"POST", "PUT"}, Path: "/customers", Backend: "sql", Auth: "jwt",
			Params: []Param{
				{Name: "first_name", Source: "body", Type: "text", Required: true},
				{Name: "email", Source: "body", Type: "varchar"},
				{Name: "active", Source: "body", Type: "boolean", Default: ptr("true")},
				{Name: "meta", Source: "body", Type: "jsonb"},
				{Name: "weight", Source: "body", Type: "numeric", Default: ptr("1.5")},
				{Name: "tenant", Source: "jwt", Type: "uuid"},
			},
			Result:  "one",
			Columns: []Column{{Name: "customer_id", Type: "int4"}},
		},
		{Name: "users-api", Host: "api.example.com", Methods: []string{"GET", "POST"}, Path: "/api/users/*", Backend: "upstream", Auth: "jwt"},
		{Name: "users-api-any", Methods: []string{"GET"}, Path: "/api/users/*", Backend: "upstream"},
		{Name: "orders", Path: "/orders/{order_id}/*", Backend: "upstream", Cached: true},
		{Name: "site", Path: "/static/*", Backend: "static"},
		{Name: "gone", Path: "/old/*", Backend: "mock", MockStatus: 410, MockContentType: "text/plain"},
		{Name: "teapot", Methods: []string{"GET"}, Path: "/teapot", Backend: "mock"},
	}
}

// load builds the document and validates it with kin-openapi.
func load(t *testing.T, info Info, routes []Route) (*openapi3.T, []byte) {
	t.Helper()
	out, err := Build(info, routes)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v\n%s", err, out)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("got openapi %q; want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("kin-openapi refuses the document: %v\n%s", err, out)
	}
	return doc, out
}

func TestBuildValidates(t *testing.T) {
	for _, info := range []Info{
		{},
		{Title: "shop", Version: "1.2.3", Servers: []string{"https://api.example.com", "http://localhost:8080"}, RawQueryAPI: true, JWT: true},
		{RawQueryAPI: true},
		{JWT: true},
	} {
		doc, _ := load(t, info, sampleRoutes())
		_, raw := doc.Paths.Map()["/v1/query"], doc.Paths.Value("/v1/batch") != nil
		if raw != info.RawQueryAPI || (doc.Paths.Value("/v1/account") != nil) != info.RawQueryAPI {
			t.Errorf("RawQueryAPI %v: got /v1/batch %v", info.RawQueryAPI, raw)
		}
		schemes := doc.Components.SecuritySchemes
		if schemes["jwt"] == nil || schemes["jwt"].Value.BearerFormat != "JWT" {
			t.Errorf("jwt scheme: got %+v; want http bearer JWT (routes use it)", schemes["jwt"])
		}
		if schemes["bearerAuth"] == nil || schemes["bearerAuth"].Value.Scheme != "bearer" {
			t.Errorf("bearerAuth scheme: got %+v", schemes["bearerAuth"])
		}
		// The built-ins are always there.
		for _, p := range []string{"/ping", "/health", "/ready"} {
			if doc.Paths.Value(p) == nil || doc.Paths.Value(p).Get == nil {
				t.Errorf("%s: missing", p)
			}
		}
	}
	// No routes, no accounts, no JWT: no security schemes at all.
	doc, _ := load(t, Info{}, nil)
	if len(doc.Components.SecuritySchemes) != 0 {
		t.Errorf("got security schemes %v; want none", doc.Components.SecuritySchemes)
	}
	doc, _ = load(t, Info{JWT: true}, nil)
	if doc.Components.SecuritySchemes["jwt"] == nil {
		t.Errorf("Info.JWT: no jwt scheme")
	}
}

func TestBuildDeterministic(t *testing.T) {
	info := Info{RawQueryAPI: true, JWT: true}
	a, err := Build(info, sampleRoutes())
	if err != nil {
		t.Fatal(err)
	}
	rs := sampleRoutes()
	slices.Reverse(rs)
	b, err := Build(info, rs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("the document depends on the order of routes")
	}
}

func TestBuildUnknownBackend(t *testing.T) {
	_, err := Build(Info{}, []Route{{Name: "x", Path: "/x", Backend: "grpc"}})
	if err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("got %v; want an error naming the route", err)
	}
}

// responseSchema is the JSON schema of op's response to status.
func responseSchema(t *testing.T, op *openapi3.Operation, status int) *openapi3.Schema {
	t.Helper()
	r := op.Responses.Status(status)
	if r == nil || r.Value == nil {
		t.Fatalf("%s: no %d response", op.OperationID, status)
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		t.Fatalf("%s %d: no application/json schema", op.OperationID, status)
	}
	return mt.Schema.Value
}

// TestResponsesValidate checks sample responses, as the engine writes
// them, against the schemas of the document.
func TestResponsesValidate(t *testing.T) {
	doc, _ := load(t, Info{RawQueryAPI: true, JWT: true}, sampleRoutes())
	f := func(path, method string, status int, body string, ok bool) {
		t.Helper()
		op := doc.Paths.Value(path).GetOperation(strings.ToUpper(method))
		if op == nil {
			t.Fatalf("%s %s: no operation", method, path)
		}
		err := visit(responseSchema(t, op, status), body)
		if ok && err != nil {
			t.Errorf("%s %s %d: %s does not validate: %v", method, path, status, body, err)
		}
		if !ok && err == nil {
			t.Errorf("%s %s %d: %s validates; want it refused", method, path, status, body)
		}
	}
	row := `{"customer_id":1,"first_name":"Mary","email":null,"balance":1234.50,"big":9007199254740993,"ratio":"NaN",` +
		`"created":"2024-01-31T13:45:00.5+00:00","born":"infinity","uid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",` +
		`"photo":"\\x0001","meta":{"a":[1]},"tags":["a",null],"scores":[[1,2],[3,4]],"mood":"happy","active":true,` +
		`"span":"1 day 02:00:00","price":"$1,000.00"}`
	f("/customers/{id}", "get", 200, row, true)
	f("/customers/{id}", "get", 200, strings.Replace(row, `"big":9007199254740993`, `"big":"9007199254740993"`, 1), false)
	f("/customers/{id}", "get", 200, strings.Replace(row, `"first_name":"Mary"`, `"first_name":null`, 1), false)
	f("/customers/{id}", "get", 200, strings.Replace(row, `"active":true`, `"active":true,"extra":1`, 1), false)
	f("/customers/{id}", "get", 200, strings.Replace(row, `,"price":"$1,000.00"`, ``, 1), false)
	f("/customers/{id}", "get", 404, `{"error":{"code":"not_found","message":"no row"}}`, true)
	f("/customers/{id}", "get", 404, `{"error":{"code":"nope","message":"no row"}}`, false)
	f("/customers", "get", 200, `[]`, true)
	f("/customers", "get", 200, `[{"customer_id":1,"last_seen":"2024-01-31T13:45:00"},{"customer_id":2,"last_seen":null}]`, true)
	f("/customers", "get", 200, `{"customer_id":1,"last_seen":null}`, false)
	f("/customers", "get", 429, `{"error":{"code":"rate_limited","message":"slow down"}}`, true)
	f("/customers", "post", 200, `{"customer_id":7}`, true)
	f("/customers", "post", 409, `{"error":{"code":"conflict","message":"duplicate key","sqlstate":"23505","detail":"Key (email)=(a) already exists."}}`, true)
	f("/stats/customers", "get", 200, `42`, true)
	f("/stats/customers", "get", 200, `"42"`, false)
	f("/stats/customers", "get", 401, `{"error":{"code":"unauthorized","message":"missing token"}}`, true)
	f("/ping", "get", 200, `{"pong":true}`, true)
	f("/health", "get", 200, `{"status":"ok"}`, true)
	f("/ready", "get", 200, `{"status":"ready"}`, true)
	f("/ready", "get", 503, `{"error":{"code":"unavailable","message":"database main is not reachable"}}`, true)
	f("/v1/query", "post", 200, `{"columns":[{"name":"id","type":"int8"}],"rows":[{"id":1}],"row_count":1,"truncated":false,"duration_ms":0.41}`, true)
	f("/v1/query", "post", 200, `{"columns":[{"name":"id","type":"int8"}],"rows":[[1]],"row_count":1,"truncated":false,"duration_ms":0.41}`, true)
	f("/v1/query", "post", 400, `{"error":{"code":"bad_request","message":"syntax error","sqlstate":"42601","position":8}}`, true)
	f("/v1/batch", "post", 200, `{"results":[{"columns":[],"rows":[],"row_count":0},{"error":{"code":"forbidden","message":"DELETE"}}],"duration_ms":1.5}`, true)
	f("/v1/batch", "post", 403, `{"error":{"code":"forbidden","message":"DELETE","index":1}}`, true)
	f("/v1/account", "get", 200, `{"id":"acc_example","name":"Example","database":"main","allowed_operations":["SELECT"],`+
		`"rate_limit":{"limit":100,"remaining":99,"reset_seconds":1},"pool":{"max_conns":10,"in_use":0,"idle":1,"acquire_count":5,"empty_acquire_count":0}}`, true)
}

func TestRequestSchemas(t *testing.T) {
	doc, _ := load(t, Info{RawQueryAPI: true}, sampleRoutes())
	f := func(s *openapi3.Schema, body string, ok bool) {
		t.Helper()
		err := visit(s, body)
		if ok && err != nil {
			t.Errorf("%s does not validate: %v", body, err)
		}
		if !ok && err == nil {
			t.Errorf("%s validates; want it refused", body)
		}
	}
	create := doc.Paths.Value("/customers").Post
	body := create.RequestBody.Value.Content.Get("application/json").Schema.Value
	f(body, `{"first_name":"Ann","email":"a@b.c","active":false,"meta":{"x":1},"weight":2.5}`, true)
	f(body, `{"first_name":"Ann","weight":"NaN"}`, true)
	f(body, `{"email":"a@b.c"}`, false) // first_name is required
	f(body, `{"first_name":"Ann","active":"yes"}`, false)
	if _, ok := body.Properties["tenant"]; ok {
		t.Errorf("a jwt parameter is in the request body")
	}
	if got := create.Extensions["x-pgfast-jwt-claims"]; got == nil {
		t.Errorf("create_customer: no x-pgfast-jwt-claims")
	}
	query := doc.Paths.Value("/v1/query").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	f(query, `{"query":"SELECT $1","params":[true],"database":"main","format":"array"}`, true)
	f(query, `{"query":"SELECT 1","format":"csv"}`, false)
	batch := doc.Paths.Value("/v1/batch").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	f(batch, `{"queries":[{"query":"SELECT 1"},{"query":"SELECT $1","params":[1]}],"transaction":true}`, true)
	f(batch, `{"transaction":true}`, false)

	list := doc.Paths.Value("/customers").Get
	byName := map[string]*openapi3.Parameter{}
	for _, p := range list.Parameters {
		if byName[p.Value.Name] != nil {
			t.Errorf("parameter %s declared twice", p.Value.Name)
		}
		byName[p.Value.Name] = p.Value
	}
	limit := byName["limit"]
	if limit == nil || limit.In != "query" || limit.Required || limit.Schema.Value.Max == nil || *limit.Schema.Value.Max != 1000 ||
		limit.Schema.Value.Default != int64(10) && limit.Schema.Value.Default != float64(10) {
		t.Errorf("limit: got %+v; want optional query integer, max 1000, default 10", limit)
	}
	if p := byName["since"]; p == nil || !p.Required {
		t.Errorf("since: got %+v; want required", p)
	}
	if p := byName["X-Tenant"]; p == nil || p.In != "header" || !p.Required {
		t.Errorf("X-Tenant: got %+v; want a required header", p)
	}
	if p := byName["ids"]; p == nil || !p.Schema.Value.Type.Is("string") {
		t.Errorf("ids: got %+v; want a string (an array literal)", p)
	}
	if list.Security == nil || len(*list.Security) != 1 || (*list.Security)[0]["bearerAuth"] == nil {
		t.Errorf("customers: got security %v; want bearerAuth", list.Security)
	}
	if id := doc.Paths.Value("/customers/{id}").Get.Parameters[0].Value; id.In != "path" || !id.Required || !id.Schema.Value.Type.Is("integer") {
		t.Errorf("id: got %+v; want a required integer path parameter", id)
	}
}

func TestGatewayRoutes(t *testing.T) {
	doc, out := load(t, Info{JWT: true}, sampleRoutes())
	users := doc.Paths.Value("/api/users/{path}")
	if users == nil {
		t.Fatalf("no /api/users/{path} in\n%s", out)
	}
	if users.Extensions["x-pgfast-prefix"] != true {
		t.Errorf("prefix path without x-pgfast-prefix")
	}
	get := users.Get
	if get.Extensions["x-pgfast-host"] != "api.example.com" || get.Extensions["x-pgfast-upstream"] != true {
		t.Errorf("users-api GET: got extensions %v; want the exact host's route", get.Extensions)
	}
	if also, _ := get.Extensions["x-pgfast-also"].([]any); len(also) != 1 {
		t.Errorf("users-api GET: got x-pgfast-also %v; want users-api-any", get.Extensions["x-pgfast-also"])
	}
	if get.Responses.Default() == nil || get.Responses.Status(502) == nil || get.Responses.Status(504) == nil {
		t.Errorf("upstream: want default, 502 and 504 responses")
	}
	if users.Post == nil || users.Put != nil {
		t.Errorf("users-api: want GET and POST only")
	}
	orders := doc.Paths.Value("/orders/{order_id}/{path}")
	if orders == nil || len(orders.Operations()) != 5 || len(orders.Get.Parameters) != 2 {
		t.Fatalf("orders: got %+v; want 5 methods with order_id and path", orders)
	}
	site := doc.Paths.Value("/static/{path}")
	if site == nil || site.Get == nil || site.Head == nil || site.Post != nil || site.Get.Responses.Status(206) == nil {
		t.Errorf("static: want GET and HEAD with 206")
	}
	gone := doc.Paths.Value("/old/{path}")
	if gone == nil || gone.Delete == nil || gone.Get.Responses.Status(410) == nil ||
		gone.Get.Responses.Status(410).Value.Content.Get("text/plain") == nil {
		t.Errorf("mock: want every method answering 410 text/plain")
	}
	if tp := doc.Paths.Value("/teapot"); tp == nil || tp.Get.Responses.Status(200) == nil || tp.Get.Responses.Status(200).Value.Content != nil {
		t.Errorf("mock without status: want 200 without content")
	}
}

// TestPrefixCatchAll checks the catch-all's name when the path already has
// a {path} segment, and the root prefix.
func TestPrefixCatchAll(t *testing.T) {
	doc, out := load(t, Info{}, []Route{
		{Name: "a", Path: "/files/{path}/*", Backend: "upstream"},
		{Name: "b", Path: "/*", Backend: "static"},
	})
	if doc.Paths.Value("/files/{path}/{path_}") == nil || doc.Paths.Value("/{path}") == nil {
		var paths []string
		for p := range doc.Paths.Map() {
			paths = append(paths, p)
		}
		t.Fatalf("got paths %v\n%s", paths, out)
	}
}

func TestDocumentShape(t *testing.T) {
	_, out := load(t, Info{}, sampleRoutes())
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if m["openapi"] != "3.1.0" {
		t.Errorf("openapi: got %v; want 3.1.0", m["openapi"])
	}
	codes := m["components"].(map[string]any)["schemas"].(map[string]any)["ErrorDetail"].(map[string]any)["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]any)
	for _, c := range []string{"bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed", "conflict", "too_large",
		"invalid_input", "rate_limited", "unavailable", "query_timeout", "internal", "bad_gateway", "upstream_timeout"} {
		if !slices.Contains(codes, any(c)) {
			t.Errorf("error code %s missing", c)
		}
	}
}
