package engine

import (
	"strings"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestCORSAndBodyParams(t *testing.T) {
	ts := startServer(t, parseConfig(t, `
server:
  cors: {allowed_origins: ["https://app.example.com"], allow_credentials: true, max_age: 5m}
routes:
  - name: add
    method: POST
    path: /items
    sql: INSERT INTO items (id, name, qty) VALUES ($1, $2, $3) RETURNING id, name, qty
    params: [body.id, body.name, {from: body.qty, default: 1}]
  - name: item
    path: /items/{id}
    sql: SELECT id, name FROM items WHERE id = $1
    params: [path.id]
`), pgtest.NewDatabase(t, querySchema))
	r := do(t, "POST", ts.url+"/items", `{"id": 7, "name": "seven \"q\"", "extra": [1]}`)
	r.expect(t, 200, `{"id":7,"name":"seven \"q\"","qty":1}`)
	do(t, "POST", ts.url+"/items", `{"id": "x", "name": "bad"}`).expect(t, 400, "body.id")
	do(t, "POST", ts.url+"/items", `not json`).expect(t, 400, "not valid JSON")
	do(t, "POST", ts.url+"/items", `{"id": 8}`).expect(t, 422, `"sqlstate":"23502"`)

	r = get(t, ts.url+"/items/7", "Origin", "https://app.example.com")
	r.expect(t, 200)
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("got CORS headers %v; want the origin echoed with credentials", r.header)
	}
	if !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "RateLimit-Remaining") {
		t.Fatalf("got Expose-Headers %q", r.header.Get("Access-Control-Expose-Headers"))
	}
	r = do(t, "OPTIONS", ts.url+"/items/7", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "GET")
	r.expect(t, 204)
	if r.header.Get("Access-Control-Max-Age") != "300" || r.header.Get("Access-Control-Allow-Methods") == "" {
		t.Fatalf("preflight headers: %v", r.header)
	}
	r = get(t, ts.url+"/items/7", "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a foreign origin was allowed")
	}
}
