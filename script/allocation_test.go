//go:build !race

package script

import (
	"context"
	"testing"
)

// TestNoopAllocs keeps the fixed cost of a call from growing: a no-op
// on_response on a pooled state allocates nothing of ours (the req and
// res userdata are made once per state, the budget is the state's own
// context, its timer is reused).
func TestNoopAllocs(t *testing.T) {
	s := compile(t, "function on_response(req, res) end")
	req := newRequest()
	res := &Response{Status: 200, Headers: HeaderMap{}}
	ctx := context.Background()
	_ = s.OnResponse(ctx, req, res)
	if n := testing.AllocsPerRun(200, func() {
		if err := s.OnResponse(ctx, req, res); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("no-op on_response: %v allocations per call; want 0", n)
	}
}
