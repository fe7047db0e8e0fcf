package script

import (
	"context"
	"testing"
)

// BenchmarkNoopOnResponse is the fixed cost of a hook call: take a pooled
// state, arm the budget, call an empty on_response(req, res), put it back.
func BenchmarkNoopOnResponse(b *testing.B) {
	s := compile(b, "function on_response(req, res) end")
	req := newRequest()
	res := &Response{Status: 200, Headers: HeaderMap{}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.OnResponse(ctx, req, res); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoopOnResponseParallel is the same call from every P at once.
func BenchmarkNoopOnResponseParallel(b *testing.B) {
	s := compile(b, "function on_response(req, res) end")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := newRequest()
		res := &Response{Status: 200, Headers: HeaderMap{}}
		for pb.Next() {
			if err := s.OnResponse(ctx, req, res); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkOnRequestHeader is README example 1: a header from a JWT claim.
func BenchmarkOnRequestHeader(b *testing.B) {
	s := compile(b, `function on_request(req) req.headers:set("X-User", req.jwt.sub) end`)
	req := newRequest()
	req.JWT = map[string]any{"sub": "alice"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.OnRequest(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCamelCaseBody is README example 2 on a 20-row body.
func BenchmarkCamelCaseBody(b *testing.B) {
	s := compile(b, `
local function camel(s) return (s:gsub("_(%l)", function(c) return c:upper() end)) end
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
	var body []byte
	body = append(body, '[')
	for i := range 20 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"user_id":1,"first_name":"Ann","last_login_at":null,"is_active":true}`...)
	}
	body = append(body, ']')
	req := newRequest()
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		res := Response{Status: 200, Body: body}
		if err := s.OnResponse(ctx, req, &res); err != nil {
			b.Fatal(err)
		}
	}
}
