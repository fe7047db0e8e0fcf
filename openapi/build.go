package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Route describes one compiled route for the document.
type Route struct {
	// Name is the route's name; it becomes the operationId.
	Name string
	// Host is the route's host ("api.example.com", "*.example.com"), empty
	// for any host. OpenAPI keys paths without hosts: it is written as
	// x-pgfast-host on the operation.
	Host string
	// Methods the route answers; empty means the backend's default: GET
	// for sql, GET and HEAD for static, GET POST PUT PATCH DELETE for
	// upstream and mock.
	Methods []string
	// Path is "/customers/{id}", or a prefix "/api/*".
	Path string
	// Backend is "sql", "upstream", "static" or "mock".
	Backend string
	// Auth is "none" (or empty), "token" or "jwt".
	Auth string
	// Params are the statement's parameters in $1.. order (sql routes).
	Params []Param
	// Result is "one", "many" or "value" (sql routes).
	Result string
	// Columns are the statement's result columns (sql routes).
	Columns []Column
	// Cached and RateLimited add x-pgfast-cache, and 429 responses.
	Cached      bool
	RateLimited bool
	// MockStatus (0 means 200) and MockContentType (empty: no body) are a
	// mock route's answer.
	MockStatus      int
	MockContentType string
}

// Param is one statement parameter.
type Param struct {
	// Name is the name in its source: path segment, query key, header,
	// body field, or JWT claim.
	Name string
	// Source is "path", "query", "header", "body" or "jwt".
	Source string
	// Type is the parameter's PostgreSQL type, as format_type or
	// pg_type.typname spells it (see SchemaForType).
	Type     string
	Required bool
	// Default is the configured default, as text; nil for none.
	Default *string
	// Max is the configured maximum of an integer parameter; nil for none.
	Max *int64
}

// Column is one result column.
type Column struct {
	Name string
	Type string
	// Nullable is false only when the column is known NOT NULL (a table
	// column with the constraint); unknown is true.
	Nullable bool
}

// Info is what the document says about the server as a whole.
type Info struct {
	// Title and Version of the API; empty means "pgfast" and "0".
	Title, Version string
	// Servers are base URLs ("https://api.example.com"); none means "/".
	Servers []string
	// RawQueryAPI adds /v1/query, /v1/batch and /v1/account (accounts are
	// configured).
	RawQueryAPI bool
	// JWT declares the jwt security scheme (auth.jwt is configured).
	JWT bool
}

// Error codes of DESIGN §4 and §9, in the order of their statuses.
var errorCodes = []any{
	"bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed",
	"conflict", "too_large", "invalid_input", "rate_limited", "internal",
	"bad_gateway", "unavailable", "query_timeout", "upstream_timeout",
}

// errorResponses are the shared error responses, by status.
var errorResponses = map[int]struct {
	name, desc string
	retry      bool
}{
	400: {"BadRequest", "bad_request: malformed JSON, a parameter that does not convert to its type (named in the message), or SQL PostgreSQL refuses as such", false},
	401: {"Unauthorized", "unauthorized: no or an invalid credential", false},
	403: {"Forbidden", "forbidden: the credential does not allow the operation", false},
	404: {"NotFound", "not_found: no such row or resource", false},
	405: {"MethodNotAllowed", "method_not_allowed: the path exists for other methods, listed in Allow", false},
	409: {"Conflict", "conflict: unique or foreign key violation (23505, 23503)", false},
	413: {"TooLarge", "too_large: the request body is larger than max_body_bytes", false},
	422: {"InvalidInput", "invalid_input: data exception (22xxx), not-null or check violation (23502, 23514)", false},
	429: {"RateLimited", "rate_limited: wait Retry-After seconds", true},
	500: {"Internal", "internal: an error on the server's side (see its log)", false},
	502: {"BadGateway", "bad_gateway: no healthy upstream target answered", false},
	503: {"Unavailable", "unavailable: database or upstream unavailable, pool exhausted; retry after Retry-After seconds", true},
	504: {"Timeout", "query_timeout (the statement ran past its timeout) or upstream_timeout (the upstream did not answer in time)", false},
}

func errorRef(status int) map[string]any {
	return map[string]any{"$ref": "#/components/responses/" + errorResponses[status].name}
}

// Build returns the OpenAPI 3.1 document of routes as indented JSON. The
// output depends only on its input: paths, and keys everywhere, are
// sorted. Build fails only on a route it cannot describe (an unknown
// backend).
func Build(info Info, routes []Route) ([]byte, error) {
	b := builder{
		paths:   map[string]map[string]any{},
		opIDs:   map[string]int{},
		schemes: map[string]bool{},
	}
	if info.JWT {
		b.schemes["jwt"] = true
	}
	// Most specific host first, so that when two hosts share a path and a
	// method the operation written is the one with the exact host.
	rs := slices.Clone(routes)
	sort.SliceStable(rs, func(i, j int) bool {
		if hi, hj := hostRank(rs[i].Host), hostRank(rs[j].Host); hi != hj {
			return hi < hj
		}
		return rs[i].Name < rs[j].Name
	})
	for i := range rs {
		if err := b.route(&rs[i]); err != nil {
			return nil, err
		}
	}
	b.builtins()
	if info.RawQueryAPI {
		b.rawQueryAPI()
	}
	doc := map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": map[string]any{
			"title":       or(info.Title, "pgfast"),
			"version":     or(info.Version, "0"),
			"description": docDescription,
		},
		"paths":      b.paths,
		"components": b.components(),
	}
	if len(info.Servers) > 0 {
		var servers []any
		for _, s := range info.Servers {
			servers = append(servers, map[string]any{"url": s})
		}
		doc["servers"] = servers
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: cannot encode the document: %w", err)
	}
	return append(out, '\n'), nil
}

const docDescription = "Generated by pgfast from its compiled route table. " +
	"Errors have the shape {\"error\":{\"code\",\"message\",…}} (components/schemas/Error). " +
	"A prefix route (path ending in /*) is written with a trailing {path} parameter that stands for " +
	"the rest of the request path, slashes included, and carries x-pgfast-prefix: true. " +
	"Requests to a listed path with a method it does not list are answered 405 (components/responses/MethodNotAllowed)."

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// hostRank orders hosts as the router matches them: exact, wildcard, any.
func hostRank(h string) int {
	switch {
	case h == "":
		return 2
	case strings.HasPrefix(h, "*."):
		return 1
	}
	return 0
}

type builder struct {
	paths   map[string]map[string]any // path -> method -> operation
	opIDs   map[string]int
	schemes map[string]bool // security schemes in use
}

var templateParam = regexp.MustCompile(`\{([^{}]+)\}`)

// catchAll is the name of the parameter a prefix path ends in, changed
// (path_, path__, …) if the route already has a segment by that name.
const catchAll = "path"

// docPath turns a route path into an OpenAPI path template and the names
// of its template parameters; the last is the catch-all of a prefix path.
func docPath(p string) (path string, names []string, prefix string) {
	for _, m := range templateParam.FindAllStringSubmatch(p, -1) {
		names = append(names, m[1])
	}
	if !strings.HasSuffix(p, "/*") && p != "*" {
		return p, names, ""
	}
	prefix = catchAll
	for slices.Contains(names, prefix) {
		prefix += "_"
	}
	return strings.TrimSuffix(p, "*") + "{" + prefix + "}", append(names, prefix), prefix
}

// methods returns the lower-case OpenAPI methods of r, those OpenAPI has
// a field for (others are left out of the document).
func methods(r *Route) []string {
	ms := r.Methods
	if len(ms) == 0 {
		switch r.Backend {
		case "sql":
			ms = []string{"GET"}
		case "static":
			ms = []string{"GET", "HEAD"}
		default:
			ms = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
		}
	}
	var out []string
	for _, m := range ms {
		m = strings.ToLower(strings.TrimSpace(m))
		switch m {
		case "get", "put", "post", "delete", "options", "head", "patch", "trace":
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

func (b *builder) opID(name, method string, many bool) string {
	id := sanitize(name)
	if many {
		id += "_" + method
	}
	b.opIDs[id]++
	if n := b.opIDs[id]; n > 1 {
		id += "_" + strconv.Itoa(n)
	}
	return id
}

// sanitize keeps the characters every generator accepts in an identifier.
func sanitize(s string) string {
	var sb strings.Builder
	for _, c := range s {
		if c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			sb.WriteRune(c)
		} else {
			sb.WriteByte('_')
		}
	}
	if sb.Len() == 0 {
		return "route"
	}
	return sb.String()
}

func (b *builder) route(r *Route) error {
	path, names, prefix := docPath(r.Path)
	var build func(r *Route, method string) map[string]any
	switch r.Backend {
	case "sql":
		build = b.sqlOperation
	case "upstream":
		build = b.upstreamOperation
	case "static":
		build = b.staticOperation
	case "mock":
		build = b.mockOperation
	default:
		return fmt.Errorf("openapi: route %q: cannot describe backend %q (want sql, upstream, static or mock)", r.Name, r.Backend)
	}
	ms := methods(r)
	item := b.paths[path]
	if item == nil {
		item = map[string]any{}
		b.paths[path] = item
	}
	for _, m := range ms {
		if prev, ok := item[m].(map[string]any); ok {
			// Another host's route on the same path and method: OpenAPI
			// keys operations by path and method only. The more
			// specific host's operation stays; the others are named.
			also, _ := prev["x-pgfast-also"].([]any)
			prev["x-pgfast-also"] = append(also, map[string]any{"route": r.Name, "host": or(r.Host, "*")})
			continue
		}
		op := build(r, m)
		op["operationId"] = b.opID(r.Name, m, len(ms) > 1)
		op["x-pgfast-route"] = r.Name
		op["x-pgfast-backend"] = r.Backend
		if r.Host != "" {
			op["x-pgfast-host"] = r.Host
		}
		if r.Cached {
			op["x-pgfast-cache"] = true
		}
		b.addTemplateParams(op, names, prefix)
		b.addAuth(op, r)
		if r.RateLimited {
			addResponse(op, 429)
		}
		addResponse(op, 500)
		item[m] = op
	}
	if prefix != "" {
		item["x-pgfast-prefix"] = true
	}
	return nil
}

// addTemplateParams declares every template segment of the path that the
// route's parameters did not: OpenAPI wants each declared.
func (b *builder) addTemplateParams(op map[string]any, names []string, prefix string) {
	params, _ := op["parameters"].([]any)
	declared := map[string]bool{}
	for _, p := range params {
		if p := p.(map[string]any); p["in"] == "path" {
			declared[p["name"].(string)] = true
		}
	}
	for _, n := range names {
		if declared[n] {
			continue
		}
		p := map[string]any{"name": n, "in": "path", "required": true, "schema": typed("string")}
		if n == prefix {
			p["description"] = "The rest of the request path after the route's prefix; it may contain slashes " +
				"(OpenAPI has no wildcard segment, so a prefix route is written with this parameter)."
			p["x-pgfast-prefix"] = true
		}
		params = append(params, p)
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
}

func (b *builder) addAuth(op map[string]any, r *Route) {
	var scheme string
	switch r.Auth {
	case "token":
		scheme = "bearerAuth"
	case "jwt":
		scheme = "jwt"
	default:
		return
	}
	b.schemes[scheme] = true
	op["security"] = []any{map[string]any{scheme: []any{}}}
	addResponse(op, 401)
	addResponse(op, 403)
}

func responses(op map[string]any) map[string]any {
	rs, _ := op["responses"].(map[string]any)
	if rs == nil {
		rs = map[string]any{}
		op["responses"] = rs
	}
	return rs
}

func addResponse(op map[string]any, status int) {
	responses(op)[strconv.Itoa(status)] = errorRef(status)
}

func jsonContent(schema map[string]any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// sqlOperation describes a sql route: its parameters, and the result shape
// with a schema per column.
func (b *builder) sqlOperation(r *Route, method string) map[string]any {
	op := map[string]any{"summary": r.Name}
	var params []any
	seen := map[string]bool{}
	body := map[string]any{}
	var bodyRequired, claims []any
	tmpl, _, _ := docPath(r.Path)
	for _, p := range r.Params {
		switch p.Source {
		case "path", "query", "header":
			key := p.Source + "\x00" + p.Name
			if p.Source == "header" {
				key = strings.ToLower(key)
			}
			if p.Source == "path" && !strings.Contains(tmpl, "{"+p.Name+"}") || seen[key] {
				continue
			}
			seen[key] = true
			param := map[string]any{
				"name":     p.Name,
				"in":       p.Source,
				"required": p.Source == "path" || p.Required && p.Default == nil,
				"schema":   paramSchema(p),
			}
			if p.Default != nil {
				param["description"] = "Default: " + *p.Default
			}
			params = append(params, param)
		case "body":
			if _, ok := body[p.Name]; ok {
				continue
			}
			body[p.Name] = paramSchema(p)
			if p.Required && p.Default == nil {
				bodyRequired = append(bodyRequired, p.Name)
			}
		case "jwt":
			if !slices.Contains(claims, any(p.Name)) {
				claims = append(claims, p.Name)
			}
		}
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if len(claims) > 0 {
		op["x-pgfast-jwt-claims"] = claims
	}
	if len(body) > 0 {
		s := map[string]any{"type": "object", "properties": body}
		if len(bodyRequired) > 0 {
			s["required"] = bodyRequired
		}
		op["requestBody"] = map[string]any{
			"description": "A JSON object; each field is one statement parameter (null counts as absent).",
			"required":    len(bodyRequired) > 0,
			"content":     jsonContent(s),
		}
		addResponse(op, 413)
	}
	if len(params) > 0 || len(body) > 0 {
		addResponse(op, 400)
	}
	rs := responses(op)
	switch r.Result {
	case "value":
		s := map[string]any{}
		if len(r.Columns) > 0 {
			s = columnSchema(r.Columns[0])
		}
		rs["200"] = map[string]any{"description": "The first column of the first row.", "content": jsonContent(s)}
		addResponse(op, 404)
	case "many":
		rs["200"] = map[string]any{"description": "The rows, one object each.",
			"content": jsonContent(map[string]any{"type": "array", "items": rowSchema(r.Columns)})}
	default: // one
		rs["200"] = map[string]any{"description": "The first row.", "content": jsonContent(rowSchema(r.Columns))}
		addResponse(op, 404)
	}
	if method != "get" && method != "head" {
		addResponse(op, 409)
	}
	for _, s := range []int{400, 422, 503, 504} {
		addResponse(op, s)
	}
	return op
}

func columnSchema(c Column) map[string]any {
	s := SchemaForType(c.Type)
	if c.Nullable {
		s = nullable(s)
	}
	s = clone(s)
	s["x-pgfast-type"] = c.Type
	return s
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// rowSchema is the object rowcodec writes for a row: every column's key,
// always present (NULL as null), and nothing else.
func rowSchema(cols []Column) map[string]any {
	props := map[string]any{}
	var required []any
	for _, c := range cols {
		if _, ok := props[c.Name]; ok {
			continue // a repeated name: the object has the key twice
		}
		props[c.Name] = columnSchema(c)
		required = append(required, c.Name)
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// upstreamOperation describes a proxied route: whatever the upstream
// answers passes through, plus the gateway's own errors.
func (b *builder) upstreamOperation(r *Route, method string) map[string]any {
	op := map[string]any{
		"summary":           r.Name,
		"description":       "Proxied to an upstream; its responses, 4xx and 5xx included, pass through untouched.",
		"x-pgfast-upstream": true,
	}
	rs := responses(op)
	rs["default"] = map[string]any{"description": "The upstream's response.", "content": map[string]any{"*/*": map[string]any{}}}
	if method == "post" || method == "put" || method == "patch" {
		op["requestBody"] = map[string]any{"description": "Streamed to the upstream as is.", "content": map[string]any{"*/*": map[string]any{}}}
		addResponse(op, 413)
	}
	for _, s := range []int{502, 503, 504} {
		addResponse(op, s)
	}
	return op
}

// staticOperation describes a route serving files from a directory.
func (b *builder) staticOperation(r *Route, method string) map[string]any {
	op := map[string]any{
		"summary":         r.Name,
		"description":     "A file from a directory, with ETag, Last-Modified, Range requests and pre-compressed .gz/.br variants.",
		"x-pgfast-static": true,
		"parameters": []any{map[string]any{
			"name": "Range", "in": "header", "required": false, "schema": typed("string"),
			"description": "RFC 9110 byte ranges, e.g. bytes=0-1023.",
		}},
	}
	file := map[string]any{"*/*": map[string]any{"schema": map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}}}
	headers := map[string]any{
		"ETag":          map[string]any{"schema": typed("string")},
		"Last-Modified": map[string]any{"schema": typed("string")},
		"Accept-Ranges": map[string]any{"schema": typed("string")},
	}
	rs := responses(op)
	rs["200"] = map[string]any{"description": "The file.", "headers": headers, "content": file}
	rs["206"] = map[string]any{"description": "The requested range of the file.", "headers": headers, "content": file}
	rs["304"] = map[string]any{"description": "Not modified (If-None-Match, If-Modified-Since)."}
	rs["416"] = map[string]any{"description": "Range not satisfiable."}
	addResponse(op, 404)
	return op
}

// mockOperation describes a route that answers a fixed response.
func (b *builder) mockOperation(r *Route, method string) map[string]any {
	status := r.MockStatus
	if status == 0 {
		status = 200
	}
	resp := map[string]any{"description": or(http.StatusText(status), "Mock response.")}
	if r.MockContentType != "" {
		resp["content"] = map[string]any{r.MockContentType: map[string]any{}}
	}
	op := map[string]any{"summary": r.Name, "description": "A fixed (mock) response.", "x-pgfast-mock": true}
	responses(op)[strconv.Itoa(status)] = resp
	return op
}
