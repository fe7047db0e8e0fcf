package cache

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestGetHitMiss(t *testing.T) {
	c := newTestCache(t, Options{})
	k1, k2 := keyOf(1, "a"), keyOf(1, "b")
	if e, ok := c.Get(k1); ok || e != nil {
		t.Fatalf("Get on an empty cache: got %v, %v; want nil, false", e, ok)
	}
	stored := mustStore(t, c, k1, 1, "body-a", time.Minute, 0)
	e, ok := c.Get(k1)
	if !ok || e != stored {
		t.Fatalf("Get(k1) after Set: got %v, %v; want the stored entry", e, ok)
	}
	if _, ok := c.Get(k2); ok {
		t.Fatalf("Get(k2): got a hit; want a miss")
	}
	// A second Set replaces the entry.
	replaced := mustStore(t, c, k1, 1, "body-a2", time.Minute, 0)
	if e, _ := c.Get(k1); e != replaced {
		t.Fatalf("Get(k1) after a second Set: got %q; want %q", e.Body, replaced.Body)
	}
}

func TestSetRefusesDeadEntries(t *testing.T) {
	c := newTestCache(t, Options{})
	f := func(name string, e *Entry) {
		t.Helper()
		if c.Set(1, e) {
			t.Fatalf("Set(%s): got true; want false", name)
		}
		c.Wait()
		if _, ok := c.GetStale(1); ok {
			t.Fatalf("GetStale after Set(%s): got a hit; want a miss", name)
		}
	}
	f("nil", nil)
	f("zero ttl", c.NewEntry(1, Meta{Status: 200}, []byte("x"), 0, time.Minute))
	f("negative ttl", c.NewEntry(1, Meta{Status: 200}, []byte("x"), -time.Second, 0))
	f("already past its grace", &Entry{Body: []byte("x"), StoredAt: time.Now().Add(-time.Hour),
		ExpiresAt: time.Now().Add(-time.Minute), StaleUntil: time.Now().Add(-time.Second)})
}

func TestTTLExpiry(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "ttl")
	e := mustStore(t, c, k, 1, "short", 100*time.Millisecond, 0)
	if _, ok := c.Get(k); !ok {
		t.Fatalf("Get before the TTL: got a miss; want a hit")
	}
	if _, ok := c.GetAt(k, e.ExpiresAt.Add(-time.Nanosecond)); !ok {
		t.Fatalf("GetAt just before ExpiresAt: got a miss; want a hit")
	}
	if _, ok := c.GetAt(k, e.ExpiresAt); ok {
		t.Fatalf("GetAt at ExpiresAt: got a hit; want a miss")
	}
	time.Sleep(150 * time.Millisecond)
	if _, ok := c.Get(k); ok {
		t.Fatalf("Get after the TTL: got a hit; want a miss")
	}
	if _, ok := c.GetStale(k); ok {
		t.Fatalf("GetStale after the TTL of an entry without grace: got a hit; want a miss")
	}
}

func TestStaleGrace(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "grace")
	stored := mustStore(t, c, k, 1, "old", 100*time.Millisecond, 300*time.Millisecond)

	if e, ok := c.GetStale(k); !ok || e != stored {
		t.Fatalf("GetStale of a fresh entry: got %v, %v; want the entry", e, ok)
	}
	time.Sleep(150 * time.Millisecond) // past the TTL, within the grace
	if _, ok := c.Get(k); ok {
		t.Fatalf("Get within the grace: got a hit; want a miss (the entry is stale)")
	}
	e, ok := c.GetStale(k)
	if !ok || e != stored {
		t.Fatalf("GetStale within the grace: got %v, %v; want the stale entry", e, ok)
	}
	if e.Fresh(time.Now()) || e.Age(time.Now()) < 150*time.Millisecond {
		t.Fatalf("stale entry: got fresh=%v age=%v; want false, >= 150ms", e.Fresh(time.Now()), e.Age(time.Now()))
	}
	if got := c.Stats().StaleServed; got != 1 {
		t.Fatalf("StaleServed: got %d; want 1 (only the expired entry counts)", got)
	}
	time.Sleep(300 * time.Millisecond) // past the grace
	if _, ok := c.GetStale(k); ok {
		t.Fatalf("GetStale after the grace: got a hit; want a miss")
	}
}

func TestClose(t *testing.T) {
	c, err := New(testOptions)
	if err != nil {
		t.Fatal(err)
	}
	k := keyOf(1, "x")
	mustStore(t, c, k, 1, "body", time.Minute, time.Minute)
	c.Close()
	c.Close() // idempotent

	if _, ok := c.Get(k); ok {
		t.Fatalf("Get after Close: got a hit; want a miss")
	}
	if _, ok := c.GetStale(k); ok {
		t.Fatalf("GetStale after Close: got a hit; want a miss")
	}
	if c.Set(k, c.NewEntry(1, Meta{Status: 200}, []byte("b"), time.Minute, 0)) {
		t.Fatalf("Set after Close: got true; want false")
	}
	c.Wait()
	if c.Refresh(k, func(context.Context) (*Entry, error) { panic("refresh ran after Close") }) {
		t.Fatalf("Refresh after Close: got true; want false")
	}
	calls := 0
	for range 2 {
		e, shared, err := c.Do(context.Background(), k, func(context.Context) (*Entry, error) {
			calls++
			return c.NewEntry(1, Meta{Status: 200}, []byte("direct"), time.Minute, 0), nil
		})
		if err != nil || shared || string(e.Body) != "direct" {
			t.Fatalf("Do after Close: got %v, %v, %v; want the fill's entry, unshared", e, shared, err)
		}
	}
	if calls != 2 {
		t.Fatalf("Do twice after Close: got %d fills; want 2 (nothing is stored)", calls)
	}
	c.PurgeRoute(1)
	c.PurgeAll()
	_ = c.Stats()
}

// TestCloseConcurrent closes the cache under load: no call may panic, race or block.
func TestCloseConcurrent(t *testing.T) {
	c, err := New(testOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		c.Set(uint64(i), c.NewEntry(1, Meta{Status: 200}, []byte("x"), time.Minute, time.Minute))
	}
	c.Wait()
	ctx := context.Background()
	fill := func(ctx context.Context) (*Entry, error) {
		return c.NewEntry(1, Meta{Status: 200}, []byte("y"), time.Minute, 0), nil
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 8 {
		wg.Go(func() {
			<-start
			for i := range 3000 {
				k := uint64(g*1000 + i%200)
				c.Get(k)
				c.GetStale(k)
				if _, _, err := c.Do(ctx, k, fill); err != nil {
					t.Errorf("Do: got error %v; want none", err)
					return
				}
				c.Refresh(k+1e6, fill)
				c.Set(k, c.NewEntry(1, Meta{Status: 200}, []byte("z"), time.Minute, 0))
				if i%500 == 0 {
					c.PurgeRoute(1)
				}
			}
		})
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	c.Close()
	wg.Wait()
}
