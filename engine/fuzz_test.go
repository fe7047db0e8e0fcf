package engine

import (
	"bufio"
	"strings"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/valyala/fasthttp"
)

// FuzzRequest feeds arbitrary HTTP requests to the engine's handler: no
// input may crash the process or end in a 500 (an internal error is a bug
// the client should never be able to trigger).
func FuzzRequest(f *testing.F) {
	seeds := []string{
		"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /items/%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /items?after=-1&limit=99999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /who HTTP/1.1\r\nHost: x\r\nX-User: \x00\xff\r\n\r\n",
		"POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tokAdmin + "\r\nContent-Length: 38\r\n\r\n{\"query\":\"SELECT $1\",\"params\":[[{}]]}",
		"POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tokRO + "\r\nContent-Length: 29\r\n\r\n{\"query\":\"SELECT 1; SELECT\"}",
		"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tokRW + "\r\nContent-Length: 27\r\n\r\n{\"queries\":[{\"query\":null}]}",
		"POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tokAdmin + "\r\nContent-Length: 46\r\n\r\n{\"query\":\"SELECT '\\u0000'::text\",\"params\":[]}",
		"GET /v1/account HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n\r\n",
		"DELETE /settings HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	// One server for every input, stopped when the fuzz target ends.
	ts := startServer(f, parseConfig(f, routeConfig+`
accounts:
  - {id: ro, api_token: `+tokRO+`, allowed_operations: [SELECT]}
  - {id: rw, api_token: `+tokRW+`, allowed_operations: [SELECT, INSERT, UPDATE, DELETE]}
  - {id: admin, api_token: `+tokAdmin+`, allowed_operations: [ALL]}
`), pgtest.NewDatabase(f, routeSchema))
	f.Fuzz(func(t *testing.T, raw string) {
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			return // fasthttp answers unparsable requests itself (transportError)
		}
		// The fuzzer must not drop the database or sleep.
		if b := strings.ToUpper(string(req.Body())); strings.Contains(b, "DROP") || strings.Contains(b, "SLEEP") || strings.Contains(b, "TERMINATE") {
			return
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		ts.e.handle(&ctx)
		if ctx.Response.StatusCode() == 500 {
			t.Fatalf("request %q answered 500: %s", raw, ctx.Response.Body())
		}
	})
}
