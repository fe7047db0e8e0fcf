package script

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEscapes runs each way out of the sandbox in on_request: every one
// must fail with an *Error of the expected kind, and the next call on
// the script must still work.
func TestEscapes(t *testing.T) {
	tests := []struct {
		name string
		code string // body of on_request
		kind Kind
		msg  string // in Error.Msg
	}{
		{"io.open", `io.open("/etc/passwd")`, Runtime, "nil"},
		{"os.execute", `os.execute("id")`, Runtime, "non-function"},
		{"os.getenv", `return {body = os.getenv("HOME")}`, Runtime, "non-function"},
		{"os.remove", `os.remove("/tmp/x")`, Runtime, "non-function"},
		{"require", `require("os")`, Runtime, "non-function"},
		{"package", `package.loaded.os.exit()`, Runtime, "nil"},
		{"load", `load("return 1")()`, Runtime, "non-function"},
		{"loadstring", `loadstring("return 1")()`, Runtime, "non-function"},
		{"dofile", `dofile("/etc/passwd")`, Runtime, "non-function"},
		{"loadfile", `loadfile("/etc/passwd")`, Runtime, "non-function"},
		{"debug.traceback", `debug.traceback()`, Runtime, "nil"},
		{"debug.getinfo", `debug.getinfo(1)`, Runtime, "nil"},
		{"getfenv", `getfenv(0).x = 1`, Runtime, "non-function"},
		{"setfenv", `setfenv(1, {})`, Runtime, "non-function"},
		{"collectgarbage", `collectgarbage("collect")`, Runtime, "non-function"},
		{"coroutine", `coroutine.create(function() end)`, Runtime, "nil"},
		{"string metatable __index", `getmetatable("").__index.upper = function() return "pwned" end`, Runtime, "nil"},
		{"string metatable replace", `setmetatable("", {})`, Runtime, "table expected"},
		{"string library write", `string.upper = nil`, Runtime, "read-only"},
		{"rawset through proxy", `rawset(string, "upper", nil)`, Runtime, "non-function"},
		{"proxy metatable", `setmetatable(string, nil)`, Runtime, "protected"},
		{"globals write", `_G.on_response = nil`, Runtime, "read-only"},
		{"number metatable", `setmetatable(1, {__index = {}})`, Runtime, "table expected"},
		{"string.dump", `string.dump(on_request)`, Runtime, "non-function"},
		{"string.rep bomb", `local s = string.rep("x", 1e9)`, Memory, "string.rep"},
		{"string.rep method bomb", `local s = ("xx"):rep(1e9)`, Memory, "string.rep"},
		{"string.format width", `local s = string.format("%999999999d", 1)`, Runtime, "too long"},
		{"string.format many", `local b = string.rep("x", 1e6); local s = string.format(string.rep("%s", 100), ` +
			strings.Repeat("b,", 99) + `b)`, Memory, "string.format"},
		{"table.concat bomb", `local b = string.rep("x", 1e6); local t = {}; for i = 1, 100 do t[i] = b end; local s = table.concat(t)`, Memory, "table.concat"},
		{"gsub bomb", `local b = string.rep("x", 1e6); local s = b:gsub("x", b)`, Memory, "string.gsub"},
		{"gsub function bomb", `local b = string.rep("x", 1e6); local s = ("x"):rep(1000):gsub("x", function() return b end)`, Memory, "string.gsub"},
		{"json.encode bomb", `local b = string.rep("x", 1e6); local t = {}; for i = 1, 100 do t[i] = b end; json.encode(t)`, Memory, "json.encode"},
		{"json cycle", `local t = {}; t.t = t; json.encode(t)`, Runtime, "cyclic"},
		{"json deep", `json.decode(string.rep("[", 100000))`, Runtime, "deeper than 512"},
		{"infinite loop", `while true do end`, Timeout, "longer than"},
		{"infinite loop in pcall", `while true do pcall(function() while true do end end) end`, Timeout, "longer than"},
		{"concat doubling", `local s = "x"; for i = 1, 40 do s = s .. s end`, 0, ""},
		{"deep recursion", `local function f(n) return 1 + f(n + 1) end; f(1)`, Memory, "overflow"},
		{"metamethod recursion", `local t = setmetatable({}, {__index = function(t, k) return t[k] end}); local x = t.x`, Memory, "overflow"},
		{"unpack huge", `unpack({}, 1, 1e8)`, Memory, "overflow"},
		{"huge table", `local t = {}; local i = 0; while true do i = i + 1; t[i] = {i} end`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := compile(t, "function on_request(req)\n"+tt.code+"\nend\nfunction on_response(req, res) res.body = string.upper('ok') end",
				func(o *Options) {
					o.MaxStringBytes = 1 << 20
					o.MaxMemoryBytes = 64 << 20
					o.Timeout = 100 * time.Millisecond
				})
			start := time.Now()
			_, err := s.OnRequest(context.Background(), newRequest())
			took := time.Since(start)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v; want *Error", err)
			}
			if tt.kind != 0 && se.Kind != tt.kind || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("got %v; want kind %s with %q", se, tt.kind, tt.msg)
			}
			if tt.kind == 0 && se.Kind != Timeout && se.Kind != Memory {
				t.Fatalf("got %v; want a timeout or memory error", se)
			}
			if se.Line != 2 && se.Kind != Timeout {
				t.Errorf("line %d; want 2 (%v)", se.Line, se)
			}
			// Stopped, not run away: a script that escaped the budget would
			// run until the test binary's timeout. The bound is loose on
			// purpose: one `..` cannot be interrupted, and the last doubling
			// before the heap check trips copies into tens of megabytes of
			// fresh memory, which takes hundreds of milliseconds when other
			// packages' tests share the machine.
			if took > 5*time.Second {
				t.Errorf("took %s; want it stopped about its 100ms timeout", took)
			}
			t.Logf("%s in %s: %v", se.Kind, took.Round(time.Millisecond), se)
			res, err := runResponse(t, s, "")
			if err != nil || string(res.Body) != "OK" {
				t.Fatalf("next call: %q, %v; want OK", res.Body, err)
			}
			if st := s.Stats(); st.Errors != 1 || st.StatesDropped != 1 {
				t.Fatalf("stats %+v; want 1 error, 1 state dropped", st)
			}
		})
	}
}

// TestAllowed checks what the sandbox keeps.
func TestAllowed(t *testing.T) {
	s := compile(t, `
function on_request(req)
  assert(type(os.time()) == "number" and type(os.clock()) == "number", "os")
  assert(math.floor(2.5) == 2 and math.max(1, 3) == 3, "math")
  assert(table.concat({"a", "b"}, ",") == "a,b", "table")
  local t = {3, 1, 2}; table.sort(t); assert(t[1] == 1, "sort")
  assert(("abc"):upper() == "ABC" and string.format("%05.1f|%s", 3.14159, "x") == "003.1|x", "string")
  assert(("a,b"):gsub(",", ";") == "a;b", "gsub")
  assert(select("#", 1, 2) == 2 and tostring(1) == "1" and tonumber("2") == 2, "base")
  assert(pcall(error, "x") == false, "pcall")
  local mt = setmetatable({}, {__index = function() return 7 end}); assert(mt.x == 7, "metatables on tables")
  assert(getmetatable("") == "locked", "string metatable hidden")
  assert(_G.json == json and _G.string == string, "_G")
  print("hello", 1)
end`)
	if _, err := s.OnRequest(context.Background(), newRequest()); err != nil {
		t.Fatal(err)
	}
}

// TestTimeoutBound checks that a runaway call stops within Timeout and
// some slack, for a short and a longer Timeout, and honours the caller's
// context.
func TestTimeoutBound(t *testing.T) {
	f := func(timeout time.Duration) {
		t.Helper()
		s := compile(t, "function on_request(req) local i = 0 while true do i = i + 1 end end",
			func(o *Options) { o.Timeout = timeout })
		start := time.Now()
		_, err := s.OnRequest(context.Background(), newRequest())
		took := time.Since(start)
		if !IsTimeout(err) {
			t.Fatalf("err = %v; want a timeout", err)
		}
		if took < timeout || took > timeout+300*time.Millisecond {
			t.Fatalf("timeout %s: took %s", timeout, took)
		}
		var se *Error
		if errors.As(err, &se); se.Line != 1 {
			t.Fatalf("line %d; want 1", se.Line)
		}
	}
	f(5 * time.Millisecond)
	f(testTimeout)
	f(200 * time.Millisecond)

	s := compile(t, "function on_request(req) while true do end end", func(o *Options) { o.Timeout = 10 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.OnRequest(ctx, newRequest())
	if !IsTimeout(err) || time.Since(start) > time.Second {
		t.Fatalf("context deadline: %v after %s", err, time.Since(start))
	}
}

// TestHeapBound checks the allocation budget with a loop that allocates
// fast but stays inside MaxStringBytes and the timeout.
func TestHeapBound(t *testing.T) {
	s := compile(t, `
function on_request(req)
  local b = string.rep("x", 1000000)
  local t = {}
  for i = 1, 100000 do t[i] = b .. i end
end`, func(o *Options) {
		o.MaxMemoryBytes = 16 << 20
		o.MaxStringBytes = 2 << 20
		o.Timeout = 10 * time.Second
	})
	_, err := s.OnRequest(context.Background(), newRequest())
	if !IsMemory(err) {
		t.Fatalf("err = %v; want a memory error", err)
	}
	t.Log(err)
}

// TestConcurrent calls one script from many goroutines at once (run it
// with -race): each call must see its own request.
func TestConcurrent(t *testing.T) {
	s := compile(t, `
function on_request(req)
  req.headers:set("X-Echo", req.query.id .. ":" .. req.jwt.sub)
  if req.query.id == "13" then return {status = 418, body = req.query.id} end
end
function on_response(req, res)
  local v = json.decode(res.body)
  v.id = req.query.id
  res.body = json.encode(v)
end`)
	const goroutines, calls = 16, 200
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				id := strconvI(g*calls + i)
				req := newRequest()
				req.Query = QueryMap{"id": id}
				req.JWT = map[string]any{"sub": "u" + id}
				ans, err := s.OnRequest(context.Background(), req)
				if err != nil {
					errs <- err
					return
				}
				if id == "13" {
					if ans == nil || ans.Status != 418 || string(ans.Body) != "13" {
						errs <- errors.New("no answer for 13")
						return
					}
					continue
				}
				if ans != nil || req.Headers.Get("X-Echo") != id+":u"+id {
					errs <- errors.New("wrong header for " + id + ": " + req.Headers.Get("X-Echo"))
					return
				}
				res := &Response{Status: 200, Headers: HeaderMap{}, Body: []byte(`{"x":1}`)}
				if err := s.OnResponse(context.Background(), req, res); err != nil {
					errs <- err
					return
				}
				if want := `{"x":1,"id":"` + id + `"}`; string(res.Body) != want {
					errs <- errors.New("body " + string(res.Body) + "; want " + want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Errors != 0 || st.Calls != 2*goroutines*calls-1 {
		t.Fatalf("stats %+v", st)
	}
}

func strconvI(i int) string {
	return string(appendInt(nil, i))
}

func appendInt(dst []byte, i int) []byte {
	if i >= 10 {
		dst = appendInt(dst, i/10)
	}
	return append(dst, byte('0'+i%10))
}
