package script

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeExamples runs the README's three examples.
func TestReadmeExamples(t *testing.T) {
	t.Run("header from a JWT claim", func(t *testing.T) {
		s := compile(t, `
function on_request(req)
  req.headers:set("X-User", req.jwt.sub)
end`)
		req := newRequest()
		req.JWT = map[string]any{"sub": "alice", "role": "reader"}
		ans, err := s.OnRequest(context.Background(), req)
		if err != nil || ans != nil {
			t.Fatalf("OnRequest: %v, %v; want nil, nil", ans, err)
		}
		if got := req.Headers.Get("x-user"); got != "alice" {
			t.Fatalf("X-User = %q; want alice", got)
		}
	})
	t.Run("camelCase fields of a SQL route", func(t *testing.T) {
		s := compile(t, `
local function camel(s)
  return (s:gsub("_(%l)", function(c) return c:upper() end))
end
function on_response(req, res)
  local rows = json.decode(res.body)
  local out = json.array()
  for i, row in ipairs(rows) do
    local r = {}
    for k, v in pairs(row) do r[camel(k)] = v end
    out[i] = r
  end
  res.body = json.encode(out)
end`)
		res, err := runResponse(t, s, `[{"user_id":1,"first_name":"Ann","last_login_at":null},{"user_id":2,"first_name":"Bo","last_login_at":"2024-01-02"}]`)
		if err != nil {
			t.Fatal(err)
		}
		want := `[{"userId":1,"firstName":"Ann","lastLoginAt":null},{"userId":2,"firstName":"Bo","lastLoginAt":"2024-01-02"}]`
		if string(res.Body) != want {
			t.Fatalf("body = %s; want %s", res.Body, want)
		}
		// An empty result stays an array.
		if res, err = runResponse(t, s, `[]`); err != nil || string(res.Body) != "[]" {
			t.Fatalf("empty: body %s, err %v; want []", res.Body, err)
		}
	})
	t.Run("403 from a rule on the body", func(t *testing.T) {
		s := compile(t, `
function on_request(req)
  local order = json.decode(req.body)
  if order.amount > 1000 and req.jwt.role ~= "admin" then
    return {status = 403, body = json.encode({error = "forbidden", message = "amount over 1000 needs admin"}),
            headers = {["Content-Type"] = "application/json"}}
  end
end`)
		f := func(body, role string, want int) {
			t.Helper()
			req := newRequest()
			req.Method, req.Body, req.JWT = "POST", []byte(body), map[string]any{"role": role}
			ans, err := s.OnRequest(context.Background(), req)
			if err != nil {
				t.Fatalf("%s as %s: %v", body, role, err)
			}
			got := 0
			if ans != nil {
				got = ans.Status
				if ans.Headers["Content-Type"] != "application/json" || !strings.Contains(string(ans.Body), `"forbidden"`) {
					t.Fatalf("answer = %+v", ans)
				}
			}
			if got != want {
				t.Fatalf("%s as %s: status %d; want %d (0 = continue)", body, role, got, want)
			}
		}
		f(`{"amount": 5000}`, "reader", 403)
		f(`{"amount": 5000}`, "admin", 0)
		f(`{"amount": 10}`, "reader", 0)
	})
}

// TestRequestFields checks every req and res field a script can read or
// set.
func TestRequestFields(t *testing.T) {
	s := compile(t, `
function on_request(req)
  assert(req.method == "POST", "method")
  assert(req.path == "/users", "path")
  assert(req.query.limit == "10" and req.query.missing == nil, "query")
  assert(req.headers:get("accept") == "text/plain", "header get")
  assert(req.headers:get("missing") == nil, "missing header")
  assert(req.body == "hello", "body")
  assert(req.ip == "10.0.0.1" and req.route == "users", "ip, route")
  assert(req.jwt.sub == "u1" and req.jwt.n == 3 and req.jwt.groups[2] == "b" and req.jwt.org.id == "o", "jwt")
  assert(req.nothing == nil, "unknown field")
  req.path = "/v2/users"
  req.body = req.body .. " world"
  req.headers:set("X-A", "1")
  req.headers:del("Accept")
end
function on_response(req, res)
  assert(res.status == 200 and res.headers:get("content-type") == "text/plain", "res")
  res.status = 201
  res.body = res.body:upper()
  res.headers:set("X-B", req.path)
end`)
	if !s.HasRequest() || !s.HasResponse() {
		t.Fatalf("HasRequest %v, HasResponse %v; want both", s.HasRequest(), s.HasResponse())
	}
	req := newRequest()
	req.Method, req.Body = "POST", []byte("hello")
	req.Headers.Set("Accept", "text/plain")
	req.JWT = map[string]any{"sub": "u1", "n": float64(3), "groups": []any{"a", "b"}, "org": map[string]any{"id": "o"}}
	if ans, err := s.OnRequest(context.Background(), req); err != nil || ans != nil {
		t.Fatalf("OnRequest: %v, %v", ans, err)
	}
	if req.Path != "/v2/users" || string(req.Body) != "hello world" || req.Headers.Get("X-A") != "1" || req.Headers.Get("Accept") != "" {
		t.Fatalf("request after on_request: %+v", req)
	}
	res := &Response{Status: 200, Headers: HeaderMap{"Content-Type": "text/plain"}, Body: []byte("ok")}
	if err := s.OnResponse(context.Background(), req, res); err != nil {
		t.Fatal(err)
	}
	if res.Status != 201 || string(res.Body) != "OK" || res.Headers.Get("X-B") != "/v2/users" {
		t.Fatalf("response after on_response: %+v", res)
	}
}

// TestRuntimeErrors checks that script errors come back as *Error with
// the kind and the line, and that the next call works.
func TestRuntimeErrors(t *testing.T) {
	f := func(src string, wantLine int, wantMsg string) {
		t.Helper()
		s := compile(t, src+"\nfunction on_response(req, res) res.body = 'ok' end")
		req := newRequest()
		_, err := s.OnRequest(context.Background(), req)
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("%s: err = %v; want *Error", src, err)
		}
		if se.Kind != Runtime || se.Line != wantLine || !strings.Contains(se.Msg, wantMsg) || se.Route != "test" || se.File != "test.lua" {
			t.Fatalf("%s: got %+v; want runtime error at line %d containing %q", src, se, wantLine, wantMsg)
		}
		if res, err := runResponse(t, s, ""); err != nil || string(res.Body) != "ok" {
			t.Fatalf("%s: next call: %v", src, err)
		}
	}
	f("function on_request(req)\n  error('boom')\nend", 2, "boom")
	f("function on_request(req)\n  local x = nil\n  return x.y\nend", 3, "nil")
	f("function on_request(req) req.method = 'PUT' end", 1, "read-only")
	f("function on_request(req) req.headers:set('X-A', 'a\\r\\nX-B: b') end", 1, "invalid header")
	f("function on_request(req) return 'no' end", 0, "must return nil or a table")
	f("function on_request(req) return {status = 99} end", 0, "status must be")
	f("function on_request(req) return {headers = {['X\\nY'] = 'z'}} end", 0, "invalid header")
	f("function on_request(req) counter = 1 end", 1, "globals are read-only")
}

// TestStaleRequest checks that a req kept in an upvalue cannot be used
// by a later call.
func TestStaleRequest(t *testing.T) {
	s := compile(t, `
local saved
function on_request(req)
  if saved then return {status = 200, body = saved.path} end
  saved = req
end`, func(o *Options) { o.MaxIdle = 1 })
	if _, err := s.OnRequest(context.Background(), newRequest()); err != nil {
		t.Fatal(err)
	}
	// The state is the same (MaxIdle 1, one goroutine); saved.path now
	// reads the current request, which is this call's: a stale req must
	// never reach another request's data after its call ended.
	req := newRequest()
	req.Path = "/other"
	ans, err := s.OnRequest(context.Background(), req)
	if err != nil || ans == nil || string(ans.Body) != "/other" {
		t.Fatalf("got %+v, %v; want the current request's path", ans, err)
	}
}

// TestCompileErrors checks Compile's errors.
func TestCompileErrors(t *testing.T) {
	f := func(src string, kind Kind, line int, msg string) {
		t.Helper()
		_, err := Compile(Options{Name: "r", File: "scripts/users.lua", Source: []byte(src), Timeout: testTimeout})
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("%q: err = %v; want *Error", src, err)
		}
		if se.Kind != kind || se.Line != line || se.File != "scripts/users.lua" || !strings.Contains(se.Msg, msg) {
			t.Fatalf("%q: got %+v (%v); want %s at line %d containing %q", src, se, se, kind, line, msg)
		}
		if !strings.Contains(se.Error(), "scripts/users.lua") {
			t.Fatalf("Error() = %q; want the file named", se.Error())
		}
	}
	f("function on_request(req)\n  local x = = 1\nend", Syntax, 2, "syntax error")
	f("function on_request(req)\n", Syntax, 0, "end of file")
	f("x = 1", Runtime, 0, "neither on_request")
	f("local a = nil\nlocal b = a.b\nfunction on_request(req) end", Runtime, 2, "nil")
	f("while true do end\nfunction on_request(req) end", Timeout, 1, "longer than")
	f("function on_request(req) end\nos.exit(1)", Runtime, 2, "non-function")
}

// TestCompileFile reads the script from File.
func TestCompileFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "users.lua")
	if err := os.WriteFile(p, []byte("function on_response(req, res) res.status = 204 end"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Compile(Options{Name: "users", File: p, Timeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := runResponse(t, s, "")
	if err != nil || res.Status != 204 {
		t.Fatalf("status %d, err %v", res.Status, err)
	}
	if _, err := Compile(Options{Name: "users", File: p + ".missing", Timeout: testTimeout}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v; want os.ErrNotExist", err)
	}
}

// TestStats checks the counters.
func TestStats(t *testing.T) {
	s := compile(t, `
function on_request(req)
  if req.path == "/deny" then return {status = 403} end
  if req.path == "/err" then error("x") end
end`)
	for _, p := range []string{"/ok", "/deny", "/err", "/ok"} {
		req := newRequest()
		req.Path = p
		_, _ = s.OnRequest(context.Background(), req)
	}
	_ = s.OnResponse(context.Background(), newRequest(), &Response{}) // no hook: not a call
	st := s.Stats()
	var n int64
	for _, c := range st.DurationCounts {
		n += c
	}
	if st.Name != "test" || st.Calls != 4 || st.Errors != 1 || st.Answers != 1 || n != 4 || st.DurationSum <= 0 ||
		st.StatesCreated != 2 || st.StatesDropped != 1 || st.Idle != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestOptionsValidate checks the refused options.
func TestOptionsValidate(t *testing.T) {
	f := func(o Options, ok bool) {
		t.Helper()
		err := o.Validate()
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrInvalidOptions)) {
			t.Fatalf("%+v: Validate() = %v; want ok=%v", o, err, ok)
		}
	}
	src := []byte("function on_request() end")
	f(Options{Source: src, Timeout: testTimeout}, true)
	f(Options{File: "x.lua", Timeout: testTimeout}, true)
	f(Options{Timeout: testTimeout}, false)
	f(Options{Source: src}, false)
	f(Options{Source: src, Timeout: testTimeout, MaxMemoryBytes: -1}, false)
	f(Options{Source: src, Timeout: testTimeout, MaxMemoryBytes: 1 << 20, MaxStringBytes: 2 << 20}, false)
	f(Options{Source: src, Timeout: testTimeout, RegistrySize: 64}, false)
	f(Options{Source: src, Timeout: testTimeout, CallStackSize: -1}, false)
	f(Options{Source: src, Timeout: testTimeout, MaxIdle: -1}, false)
}
