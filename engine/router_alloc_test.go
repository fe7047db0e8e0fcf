//go:build !race

package engine

import "testing"

func TestRouterLookupAllocatesNothing(t *testing.T) {
	var r router[int]
	r.add("GET", "/customers/{id}", 1)
	r.add("GET", "/customers/{id}/orders/{order}", 2)
	method, path := []byte("GET"), []byte("/customers/123/orders/9")
	var p pathParams
	allocs := testing.AllocsPerRun(1000, func() {
		if v, res := r.lookup(method, path, &p); res != lookupFound || v != 2 {
			t.Fatalf("got (%d, %v)", v, res)
		}
	})
	if allocs != 0 {
		t.Fatalf("got %.1f allocs per lookup; want 0", allocs)
	}
}
