//go:build !race

package engine

import "testing"

func TestRouterLookupAllocs(t *testing.T) {
	var r router[int]
	r.add("", []string{"GET"}, "/customers/{id}", 1)
	r.add("", []string{"GET"}, "/customers/{id}/orders/{order}", 2)
	r.add("api.example.com", []string{"GET"}, "/x/{id}", 3)
	r.add("*.example.com", nil, "/static/*", 4)
	var p pathParams
	f := func(host, path string, want int) {
		t.Helper()
		h, m, pb := []byte(host), []byte("GET"), []byte(path)
		allocs := testing.AllocsPerRun(1000, func() {
			if v, res := r.lookup(h, m, pb, &p); res != lookupFound || v != want {
				t.Fatalf("%s %s: got (%d, %v); want %d", host, path, v, res, want)
			}
		})
		if allocs != 0 {
			t.Fatalf("%s %s: got %.1f allocs per lookup; want 0", host, path, allocs)
		}
	}
	f("localhost:8580", "/customers/123/orders/9", 2)
	f("API.example.com", "/x/1", 3)
	f("cdn.example.com", "/static/css/site.css", 4)
}
