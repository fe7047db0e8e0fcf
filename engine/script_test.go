package engine

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// The README's three script examples, end to end.
const (
	scriptJWTHeader = `-- Send the caller's JWT subject upstream as X-User.
function on_request(req)
  req.headers:set("X-User", req.jwt.sub)
end
`
	scriptCamelCase = `-- Rename a SQL route's snake_case fields to camelCase.
local function camel(s)
  return (s:gsub("_(%w)", function(c) return c:upper() end))
end

function on_response(req, res)
  local rows = json.decode(res.body)
  local out = json.array()
  for i, row in ipairs(rows) do
    local o = {}
    for k, v in pairs(row) do o[camel(k)] = v end
    out[i] = o
  end
  res.body = json.encode(out)
end
`
	scriptBodyRule = `-- Refuse orders above a limit before they reach the backend.
function on_request(req)
  local order = json.decode(req.body)
  if order.amount and order.amount + 0 > 1000 then
    return {status = 403, headers = {["Content-Type"] = "application/json"},
            body = json.encode({error = {code = "forbidden", message = "amount above 1000"}})}
  end
end
`
)

func TestRouteScripts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%s", r.Header.Get("X-User"))
	}))
	defer echo.Close()
	escapes := map[string]string{
		"io":        `function on_request(req) io.open("/etc/passwd") end`,
		"execute":   `function on_request(req) os.execute("touch /tmp/pwned") end`,
		"require":   `function on_request(req) require("os") end`,
		"load":      `function on_request(req) load("return 1")() end`,
		"loadstr":   `function on_request(req) loadstring("return 1")() end`,
		"dofile":    `function on_request(req) dofile("/etc/passwd") end`,
		"debug":     `function on_request(req) debug.getinfo(1) end`,
		"rep":       `function on_request(req) local s = string.rep("x", 1e9) end`,
		"loop":      `function on_request(req) while true do end end`,
		"recursion": `local function f(n) return f(n + 1) + 1 end function on_request(req) f(1) end`,
		"table":     `function on_request(req) local t = {} for i = 1, 1e9 do t[i] = i end end`,
	}
	var routes strings.Builder
	for name, src := range escapes {
		fmt.Fprintf(&routes, "  - {name: esc-%s, path: /esc/%s, mock: {body: unreachable}, script: %s}\n", name, name, write(name+".lua", src))
	}
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
auth:
  jwt: {secret: %q}
upstreams:
  echo: {targets: [{url: %q}]}
script_limits: {timeout: 200ms}
routes:
  - {name: who, path: /who/*, upstream: echo, auth: jwt, script: %s}
  - name: items
    path: /items
    sql: SELECT id AS item_id, name AS item_name FROM items ORDER BY id LIMIT 2
    result: many
    cache: 60s
    script: %s
  - {name: orders, path: /orders, method: POST, mock: {status: 201, body: accepted}, script: %s}
  - {name: ok, path: /ok, mock: {body: fine}}
%s`, jwtSecret, echo.URL, write("jwt.lua", scriptJWTHeader), write("camel.lua", scriptCamelCase),
		write("rule.lua", scriptBodyRule), routes.String())), pgtest.NewDatabase(t, routeSchema))

	tok := signHS(t, jwt.MapClaims{"sub": "ann", "exp": time.Now().Add(time.Hour).Unix()}, jwtSecret)
	get(t, ts.url+"/who/x", "Authorization", "Bearer "+tok).expect(t, 200, "user=ann")

	for range 2 { // a miss, then a cached hit: the script runs on both
		r := get(t, ts.url+"/items")
		r.expect(t, 200, `"itemId":1`, `"itemName":`)
		if strings.Contains(r.body, "item_id") {
			t.Fatalf("camelCase script left snake_case fields: %s", r.body)
		}
	}

	do(t, "POST", ts.url+"/orders", `{"amount": 5000}`).expect(t, 403, "amount above 1000")
	do(t, "POST", ts.url+"/orders", `{"amount": 10}`).expect(t, 201, "accepted")

	for name := range escapes {
		get(t, ts.url+"/esc/"+name).expect(t, 500, `"code":"internal"`)
		get(t, ts.url+"/ok").expect(t, 200, "fine") // the process serves on
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Fatal("os.execute ran a command")
	}
	m := get(t, ts.admin+"/metrics").body
	for _, want := range []string{`pgfast_script_errors_total{route="esc-loop"} 1`, `pgfast_script_duration_seconds_count{route="items"} 2`} {
		if !strings.Contains(m, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}
