package engine

import (
	"strings"
	"testing"
)

func TestRouterLookup(t *testing.T) {
	var r router[string]
	for _, rt := range []struct{ method, path, value string }{
		{"GET", "/ping", "ping"},
		{"GET", "/customers", "list"},
		{"GET", "/customers/{id}", "one"},
		{"PUT", "/customers/{id}", "put"},
		{"GET", "/customers/top", "top"},
		{"GET", "/customers/{id}/orders/{order}", "order"},
		{"GET", "/", "root"},
	} {
		if _, err := r.add(rt.method, rt.path, rt.value); err != nil {
			t.Fatalf("add %s %s: %v", rt.method, rt.path, err)
		}
	}
	f := func(method, path, want string, wantResult lookupResult, wantParams ...string) {
		t.Helper()
		var p pathParams
		got, res := r.lookup([]byte(method), []byte(path), &p)
		if res != wantResult || got != want {
			t.Fatalf("%s %s: got (%q, %v); want (%q, %v)", method, path, got, res, want, wantResult)
		}
		var params []string
		for i := 0; i < p.n; i++ {
			params = append(params, string(p.Get(i)))
		}
		if strings.Join(params, ",") != strings.Join(wantParams, ",") {
			t.Fatalf("%s %s: got params %q; want %q", method, path, params, wantParams)
		}
	}
	f("GET", "/ping", "ping", lookupFound)
	f("GET", "/", "root", lookupFound)
	f("GET", "/customers", "list", lookupFound)
	f("GET", "/customers/", "list", lookupFound)
	f("GET", "/customers/42", "one", lookupFound, "42")
	f("PUT", "/customers/42", "put", lookupFound, "42")
	f("HEAD", "/customers/42", "one", lookupFound, "42")
	f("GET", "/customers/top", "top", lookupFound)
	f("GET", "/customers/7/orders/9", "order", lookupFound, "7", "9")
	f("GET", "/customers/top/orders/9", "order", lookupFound, "top", "9")
	f("DELETE", "/customers/42", "", lookupNoMethod, "42")
	f("GET", "/nope", "", lookupNoPath)
	f("GET", "/customers/1/2", "", lookupNoPath)
}

func TestRouterRejectsBadPatterns(t *testing.T) {
	f := func(path, wantErr string) {
		t.Helper()
		var r router[int]
		_, err := r.add("GET", path, 1)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("add %q: got %v; want error containing %q", path, err, wantErr)
		}
	}
	f("customers", "must start with /")
	f("/a/{}", "bad parameter")
	f("/a/{id}/{id}", "appears twice")
	f("/a/x{id}", "whole {param}")
	var r router[int]
	r.add("GET", "/a", 1)
	if _, err := r.add("GET", "/a", 2); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("duplicate: got %v", err)
	}
}
