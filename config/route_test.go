package config

import (
	"reflect"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestMethodsDecode(t *testing.T) {
	f := func(src, format string, want Methods) {
		t.Helper()
		c, err := Parse([]byte(src), format)
		if err != nil {
			t.Fatalf("%q: unexpected error: %v", src, err)
		}
		if got := c.Routes[0].Methods; !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v; want %#v", src, got, want)
		}
	}
	f("routes:\n  - {name: a, path: /a, mock: {}, method: POST}\n", "yaml", Methods{"POST"})
	f("routes:\n  - {name: a, path: /a, mock: {}, method: [GET, POST]}\n", "yaml", Methods{"GET", "POST"})
	f("routes:\n  - {name: a, path: /a, mock: {}}\n", "yaml", nil)
	f("routes:\n  - {name: a, path: /a, mock: {}, method: ~}\n", "yaml", nil)
	f("routes:\n  - {name: a, path: /a, mock: {}, method: []}\n", "yaml", Methods{})
	f(`{"routes": [{"name": "a", "path": "/a", "mock": {}, "method": "PUT"}]}`, "json", Methods{"PUT"})
	f(`{"routes": [{"name": "a", "path": "/a", "mock": {}, "method": ["GET", "HEAD"]}]}`, "json", Methods{"GET", "HEAD"})
	// Defaults by backend: sql GET, static GET and HEAD, upstream and mock any.
	f("routes:\n  - {name: a, path: /a, sql: x}\n", "yaml", Methods{"GET"})
	f("routes:\n  - {name: a, path: /a, sql: x, method: []}\n", "yaml", Methods{"GET"})
	f("routes:\n  - {name: a, path: /a/*, static: {dir: d}}\n", "yaml", Methods{"GET", "HEAD"})
	f("upstreams: {u: {targets: [{url: 'http://h'}]}}\nroutes:\n  - {name: a, path: /a, upstream: u}\n", "yaml", nil)

	// yaml.v3 users get the same decoding.
	for src, want := range map[string]Methods{"DELETE": {"DELETE"}, "[GET, POST]": {"GET", "POST"}} {
		var m Methods
		if err := yaml.Unmarshal([]byte(src), &m); err != nil || !reflect.DeepEqual(m, want) {
			t.Errorf("yaml.Unmarshal(%q): got %v, %v; want %v", src, m, err, want)
		}
	}
	var m Methods
	if err := yaml.Unmarshal([]byte("{a: 1}"), &m); err == nil || err.Error() != "config: must be a method such as GET or a list such as [GET, POST], got a map (line 1)" {
		t.Errorf("yaml.Unmarshal of a map: got %v", err)
	}
}

func TestMethods(t *testing.T) {
	var anyM Methods
	get, getPost, put := Methods{"GET"}, Methods{"GET", "POST"}, Methods{"PUT"}
	checks := []struct {
		name      string
		got, want any
	}{
		{"any.Any", anyM.Any(), true},
		{"any.Has", anyM.Has("PATCH"), true},
		{"any.String", anyM.String(), "*"},
		{"get.Any", get.Any(), false},
		{"getPost.Has(POST)", getPost.Has("POST"), true},
		{"getPost.Has(PUT)", getPost.Has("PUT"), false},
		{"getPost.String", getPost.String(), "GET,POST"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v; want %v", ch.name, ch.got, ch.want)
		}
	}
	overlap := func(a, b, want Methods, wantOK bool) {
		t.Helper()
		got, ok := a.overlap(b)
		if ok != wantOK || !reflect.DeepEqual(got, want) {
			t.Errorf("%v.overlap(%v): got %v, %v; want %v, %v", a, b, got, ok, want, wantOK)
		}
	}
	overlap(anyM, anyM, nil, true)
	overlap(anyM, getPost, getPost, true)
	overlap(getPost, anyM, getPost, true)
	overlap(getPost, get, get, true)
	overlap(getPost, put, nil, false)
}

func TestRouteBackendDefaults(t *testing.T) {
	c, err := Parse([]byte(`
server: {max_body_bytes: 2MiB}
upstreams: {u: {targets: [{url: "http://h"}]}}
routes:
  - {name: q, path: /q, sql: x}
  - {name: u, path: /u/*, upstream: u, max_body_bytes: 256MiB}
  - {name: s, path: /s/*, static: {dir: d}}
  - {name: m, path: /m, mock: {}}
  - {name: e, path: /e, mock: {status: 204}, max_body_bytes: 0}
  - {name: i, path: /i/*, static: {dir: d, index: ""}}
`), "yaml")
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	q, u, s, m, e, i := c.Routes[0], c.Routes[1], c.Routes[2], c.Routes[3], c.Routes[4], c.Routes[5]
	timeout := Duration(30 * time.Second)
	checks := []struct {
		name      string
		got, want any
	}{
		{"q.Backend", q.Backend(), BackendSQL},
		{"q.Result", q.Result, ResultOne},
		{"q.Database", q.Database, MainDatabase},
		{"q.Timeout", q.Timeout, &timeout},
		{"q.MaxBodyBytes", q.MaxBodyBytes, 2 * MiB},
		{"u.Backend", u.Backend(), BackendUpstream},
		{"u.Result", u.Result, ""},
		{"u.Database", u.Database, ""},
		{"u.Timeout", u.Timeout, (*Duration)(nil)},
		{"u.MaxBodyBytes", u.MaxBodyBytes, 256 * MiB},
		{"u.IsPrefix", u.IsPrefix(), true},
		{"u.Auth", u.Auth, AuthNone},
		{"s.Backend", s.Backend(), BackendStatic},
		{"s.Static", *s.Static, Static{Dir: "d", Index: "index.html"}},
		{"i.Static.Index", i.Static.Index, ""},
		{"m.Backend", m.Backend(), BackendMock},
		{"m.Mock", *m.Mock, Mock{Status: 200}},
		{"m.IsPrefix", m.IsPrefix(), false},
		{"e.Mock.Status", e.Mock.Status, 204},
		{"e.MaxBodyBytes", e.MaxBodyBytes, 2 * MiB}, // 0 means server.max_body_bytes
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %v; want %v", ch.name, ch.got, ch.want)
		}
	}
	if b := (&Route{}).Backend(); b != "" {
		t.Errorf("Backend of an empty route: got %q; want \"\"", b)
	}
}
