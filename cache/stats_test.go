package cache

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestStats(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "s")
	c.Get(k)      // miss
	c.GetStale(k) // not counted
	e := mustStore(t, c, k, 1, "body", 100*time.Millisecond, time.Minute)
	c.Get(k) // hit
	c.Get(k) // hit
	c.GetStale(k)
	c.Do(context.Background(), k, nil) // hit
	time.Sleep(150 * time.Millisecond)
	c.Get(k)      // miss: expired
	c.GetStale(k) // stale served
	c.PurgeRoute(1)
	c.Get(k) // miss: purged

	st := c.Stats()
	want := Stats{Hits: 3, Misses: 3, Sets: 1, StaleServed: 1, Purges: 1, MaxCost: testMaxBytes}
	got := st
	got.CostUsed = 0
	if got != want {
		t.Fatalf("Stats: got %+v; want %+v", got, want)
	}
	if st.CostUsed < e.Cost() || st.CostUsed > e.Cost()+1024 {
		t.Fatalf("CostUsed: got %d; want the entry's cost %d plus ristretto's small item overhead", st.CostUsed, e.Cost())
	}
}

func TestStatsEvictionsAndDrops(t *testing.T) {
	const maxBytes = 64 << 10
	c := newTestCache(t, Options{MaxBytes: maxBytes})
	body := strings.Repeat("x", 1000)
	for i := range 300 {
		c.Set(keyOf(1, strings.Repeat("k", i)), c.NewEntry(1, Meta{Status: 200}, []byte(body), time.Minute, 0))
		c.Wait()
	}
	// An entry larger than the whole cache is refused.
	c.Set(keyOf(2, "huge"), c.NewEntry(2, Meta{Status: 200}, make([]byte, maxBytes), time.Minute, 0))
	c.Wait()

	st := c.Stats()
	if st.Evictions == 0 {
		t.Fatalf("Evictions after 300 KB into a 64 KiB cache: got 0; want some")
	}
	if st.DroppedSets == 0 {
		t.Fatalf("DroppedSets after an entry larger than the cache: got 0; want at least 1")
	}
	if st.CostUsed > maxBytes || st.CostUsed <= maxBytes/2 {
		t.Fatalf("CostUsed: got %d; want close to and at most %d", st.CostUsed, maxBytes)
	}
	if _, ok := c.GetStale(keyOf(2, "huge")); ok {
		t.Fatalf("GetStale of the refused entry: got a hit; want a miss")
	}
}

// A cache nothing was stored in has no ristretto yet: its lookups are
// misses all the same, and it reports its whole budget as free.
func TestStatsCold(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "cold")
	c.Get(k)
	c.GetStale(k) // not counted
	c.Get(k)
	c.Wait()
	c.PurgeAll()
	if got, want := c.Stats(), (Stats{Misses: 2, Purges: 1, MaxCost: testMaxBytes}); got != want {
		t.Fatalf("Stats of a cold cache: got %+v; want %+v", got, want)
	}
	if c.rc.Load() != nil {
		t.Fatal("lookups created ristretto; want only a Set to")
	}
}
