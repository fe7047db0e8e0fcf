//go:build !race

package cache

import (
	"context"
	"testing"
	"time"
)

// The race detector allocates on its own, hence the build tag.
//
// ristretto's Get records each access in a pooled 64-slot stripe and, when a stripe
// fills, hands it to the admission policy and allocates a fresh one: one 512-byte
// allocation per BufferItems Gets. testing.AllocsPerRun reports whole allocations per
// run, so that amortized share reads as 0, as it does in the benchmarks' allocs/op.

func TestGetAllocs(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "hot")
	mustStore(t, c, k, 1, `{"id":1}`, time.Hour, time.Hour)
	miss := keyOf(1, "cold")
	f := func(name string, fn func()) {
		t.Helper()
		if got := testing.AllocsPerRun(1000, fn); got != 0 {
			t.Fatalf("%s: got %v allocations per call; want 0", name, got)
		}
	}
	f("Get hit", func() {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("Get: got a miss; want a hit")
		}
	})
	f("GetAt hit", func() { c.GetAt(k, time.Now()) })
	f("Get miss", func() { c.Get(miss) })
	f("GetStale", func() { c.GetStale(k) })
	ctx := context.Background()
	route := uint32(1)
	f("Do hit", func() {
		// The closure captures locals, as the engine's will.
		e, _, err := c.Do(ctx, k, func(ctx context.Context) (*Entry, error) {
			return c.NewEntry(route, Meta{Status: 200}, nil, time.Hour, 0), nil
		})
		if err != nil || e == nil {
			t.Fatalf("Do: got %v, %v; want a hit", e, err)
		}
	})
	var h Hasher
	path, query := []byte("12345"), "limit=10"
	f("Hasher", func() {
		h.Reset(route)
		h.Write(path)
		h.WriteString(query)
		h.WriteUint64(7)
		h.WriteNull()
		_ = h.Sum()
	})
}
