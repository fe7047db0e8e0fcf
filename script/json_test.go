package script

import (
	"context"
	"strings"
	"testing"
)

// TestJSON runs json.decode and json.encode through a script: the
// on_response hook below sets res.body to the result of the Lua
// expression in the request's body, with the response body as input.
func TestJSON(t *testing.T) {
	s := compile(t, `
function on_response(req, res)
  local f = assert(EXPRS[req.path], req.path)
  res.body = f(res.body)
end
EXPRS = {
  roundtrip = function(b) return json.encode(json.decode(b)) end,
  types = function(b)
    local v = json.decode(b)
    local out = {}
    for i, x in ipairs(v) do out[i] = type(x) end
    return table.concat(out, ",")
  end,
  big = function(b)
    local v = json.decode(b)
    return tostring(v.id) .. "|" .. tostring(v.id + 0 > 1) .. "|" .. tostring(v.small + 1) .. "|" .. json.encode(v)
  end,
  null = function(b)
    local v = json.decode(b)
    return tostring(v.a == json.null) .. "|" .. tostring(v.b == nil)
  end,
  encode = function(b)
    return json.encode({1, 2.5, "x\n\"y\"", true, json.null}) .. json.encode({a = {}}) ..
      json.encode(json.array()) .. json.encode({[1] = "a", [3] = "c"}) .. json.encode(1e20)
  end,
}`)
	f := func(path, in, want string) {
		t.Helper()
		res := &Response{Status: 200, Body: []byte(in)}
		req := newRequest()
		req.Path = path
		if err := s.OnResponse(context.Background(), req, res); err != nil {
			if strings.HasPrefix(want, "error:") && strings.Contains(err.Error(), want[6:]) {
				return
			}
			t.Fatalf("%s(%s): %v", path, in, err)
		}
		if string(res.Body) != want {
			t.Fatalf("%s(%s) = %s; want %s", path, in, res.Body, want)
		}
	}
	f("roundtrip", `{"b":1,"a":[1,2,{"c":null}],"s":"é\u0001\"","e":{},"l":[]}`, `{"b":1,"a":[1,2,{"c":null}],"s":"é\u0001\"","e":{},"l":[]}`)
	f("roundtrip", ` [ true , false , null , -0.5 , 1e3 ] `, `[true,false,null,-0.5,1000]`)
	f("roundtrip", `9007199254740993`, `9007199254740993`)
	f("roundtrip", `123456789012345678901234567890.123456789`, `123456789012345678901234567890.123456789`)
	f("roundtrip", `"\ud83d\ude00"`, `"😀"`)
	f("types", `[1, 9007199254740992, 9007199254740993, 0.1, 3.14159265358979323846, "s", {}, [], null, true]`,
		"number,number,userdata,number,userdata,string,table,table,userdata,boolean")
	f("big", `{"id": 12345678901234567890, "small": 41}`, `12345678901234567890|true|42|{"id":12345678901234567890,"small":41}`)
	f("null", `{"a": null}`, "true|true")
	f("encode", "", `[1,2.5,"x\n\"y\"",true,null]{"a":{}}[]{"1":"a","3":"c"}1e+20`)
	f("roundtrip", `{"a":1`, "error:json.decode")
	f("roundtrip", `{"a":1} x`, "error:json.decode")
	f("roundtrip", `[1,]`, "error:json.decode")
	f("roundtrip", ``, "error:json.decode")
}

func TestExactAsFloat(t *testing.T) {
	f := func(lit string, want bool) {
		t.Helper()
		if got := exactAsFloat(lit); got != want {
			t.Fatalf("exactAsFloat(%s) = %v; want %v", lit, got, want)
		}
	}
	f("0", true)
	f("-12", true)
	f("9007199254740992", true)
	f("-9007199254740992", true)
	f("9007199254740993", false)
	f("123456789012345", true)
	f("0.000001", true)
	f("1.23456789012345", true)
	f("1.234567890123456", false)
	f("1e10", true)
	f("1e400", false)
	f("1.5E-7", true)
}
