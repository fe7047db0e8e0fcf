package engine

import (
	"slices"
	"strings"
	"testing"
)

func TestRouterLookup(t *testing.T) {
	var r router[string]
	for _, rt := range []struct{ host, method, path, value string }{
		{"", "GET", "/ping", "ping"},
		{"", "GET", "/customers", "list"},
		{"", "GET", "/customers/{id}", "one"},
		{"", "PUT", "/customers/{id}", "put"},
		{"", "GET", "/customers/top", "top"},
		{"", "GET", "/customers/{id}/orders/{order}", "order"},
		{"", "GET", "/", "root"},
		{"", "", "/api/*", "api-any"},
		{"", "GET", "/api/users/*", "users-prefix"},
		{"", "GET", "/api/users/{id}/*", "user-prefix"},
		{"", "GET", "/api/users/me", "me"},
		{"api.example.com", "GET", "/customers/{id}", "api-one"},
		{"*.example.com", "GET", "/customers/{id}", "wild-one"},
		{"*.eu.example.com", "GET", "/customers/{id}", "eu-one"},
		{"api.example.com", "GET", "/only-api", "only-api"},
	} {
		var methods []string
		if rt.method != "" {
			methods = []string{rt.method}
		}
		if _, err := r.add(rt.host, methods, rt.path, rt.value); err != nil {
			t.Fatalf("add %s %s %s: %v", rt.host, rt.method, rt.path, err)
		}
	}
	f := func(host, method, path, want string, wantResult lookupResult, wantParams ...string) {
		t.Helper()
		var p pathParams
		got, res := r.lookup([]byte(host), []byte(method), []byte(path), &p)
		if res != wantResult || got != want {
			t.Fatalf("%s %s %s: got (%q, %v); want (%q, %v)", host, method, path, got, res, want, wantResult)
		}
		var params []string
		for i := 0; i < p.n; i++ {
			params = append(params, string(p.Get(i)))
		}
		if strings.Join(params, ",") != strings.Join(wantParams, ",") {
			t.Fatalf("%s %s %s: got params %q; want %q", host, method, path, params, wantParams)
		}
	}
	f("", "GET", "/ping", "ping", lookupFound)
	f("", "GET", "/", "root", lookupFound)
	f("", "GET", "/customers", "list", lookupFound)
	f("", "GET", "/customers/", "list", lookupFound)
	f("", "GET", "/customers/42", "one", lookupFound, "42")
	f("", "PUT", "/customers/42", "put", lookupFound, "42")
	f("", "HEAD", "/customers/42", "one", lookupFound, "42")
	f("", "GET", "/customers/top", "top", lookupFound)
	f("", "GET", "/customers/7/orders/9", "order", lookupFound, "7", "9")
	f("", "GET", "/customers/top/orders/9", "order", lookupFound, "top", "9")
	f("", "DELETE", "/customers/42", "", lookupNoMethod, "42")
	f("", "GET", "/nope", "", lookupNoPath)
	f("", "GET", "/customers/1/2", "", lookupNoPath)
	// Prefixes: exact before {param} before prefix; the longest prefix wins.
	f("", "GET", "/api/users/me", "me", lookupFound)
	f("", "GET", "/api/users/7/posts/3", "user-prefix", lookupFound, "7")
	f("", "GET", "/api/users/7", "user-prefix", lookupFound, "7") // a prefix route also answers its own path
	f("", "GET", "/api/users", "users-prefix", lookupFound)
	f("", "POST", "/api/users/7/x", "", lookupNoMethod, "7")
	f("", "POST", "/api/orders/1", "api-any", lookupFound)
	f("", "DELETE", "/api", "api-any", lookupFound)
	// Hosts: exact before wildcard (longest suffix first) before any; port
	// and case ignored; a host without the path falls through to the next.
	f("api.example.com", "GET", "/customers/1", "api-one", lookupFound, "1")
	f("API.Example.com:8443", "GET", "/customers/1", "api-one", lookupFound, "1")
	f("www.example.com", "GET", "/customers/1", "wild-one", lookupFound, "1")
	f("a.b.example.com", "GET", "/customers/1", "wild-one", lookupFound, "1")
	f("x.eu.example.com", "GET", "/customers/1", "eu-one", lookupFound, "1")
	f("example.com", "GET", "/customers/1", "one", lookupFound, "1")
	f("other.org", "GET", "/customers/1", "one", lookupFound, "1")
	f("api.example.com", "GET", "/ping", "ping", lookupFound)
	f("api.example.com", "GET", "/only-api", "only-api", lookupFound)
	f("www.example.com", "GET", "/only-api", "", lookupNoPath)
	f("[::1]:8580", "GET", "/ping", "ping", lookupFound)
	f(strings.Repeat("a", 300), "GET", "/ping", "ping", lookupFound)

	if got := r.allowed([]byte(""), []byte("/customers/9")); !slices.Equal(sorted(got), []string{"GET", "PUT"}) {
		t.Fatalf("allowed /customers/9: %v; want GET, PUT", got)
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

func TestRouterRejectsBadPatterns(t *testing.T) {
	f := func(path, wantErr string) {
		t.Helper()
		var r router[int]
		_, err := r.add("", []string{"GET"}, path, 1)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("add %q: got %v; want error containing %q", path, err, wantErr)
		}
	}
	f("customers", "must start with /")
	f("/a/{}", "bad parameter")
	f("/a/{id}/{id}", "appears twice")
	f("/a/x{id}", "whole {param}")
	f("/a/*/b", "* may only end a path")
	dup := func(host string, m1, m2 []string, p1, p2 string) {
		t.Helper()
		var r router[int]
		if _, err := r.add(host, m1, p1, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := r.add(host, m2, p2, 2); err == nil || !strings.Contains(err.Error(), "declared twice") {
			t.Fatalf("duplicate %s %v %s / %v %s: got %v", host, m1, p1, m2, p2, err)
		}
	}
	dup("", []string{"GET"}, []string{"GET"}, "/a", "/a")
	dup("", []string{"GET", "POST"}, []string{"PUT", "POST"}, "/a/{x}", "/a/{y}")
	dup("", nil, nil, "/a/*", "/a/*")
	dup("API.example.com", []string{"GET"}, []string{"GET"}, "/a", "/a")
	var r router[int]
	if _, err := r.add("a.example.com", []string{"GET"}, "/a", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := r.add("", []string{"GET"}, "/a", 2); err != nil {
		t.Fatalf("the same path on another host: %v", err)
	}
	if _, err := r.add("", []string{"GET"}, "/a/*", 3); err != nil {
		t.Fatalf("a prefix beside an exact path: %v", err)
	}
}
