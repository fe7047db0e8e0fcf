package cache

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPurge(t *testing.T) {
	c := newTestCache(t, Options{})
	a1, a2, b1 := keyOf(1, "a1"), keyOf(1, "a2"), keyOf(2, "b1")
	store := func() {
		mustStore(t, c, a1, 1, "a1", time.Minute, time.Minute)
		mustStore(t, c, a2, 1, "a2", time.Minute, time.Minute)
		mustStore(t, c, b1, 2, "b1", time.Minute, time.Minute)
	}
	f := func(step string, key uint64, want bool) {
		t.Helper()
		if _, ok := c.Get(key); ok != want {
			t.Fatalf("%s: Get(%x): got hit=%v; want %v", step, key, ok, want)
		}
		if _, ok := c.GetStale(key); ok != want {
			t.Fatalf("%s: GetStale(%x): got hit=%v; want %v", step, key, ok, want)
		}
	}
	store()
	c.PurgeRoute(1)
	f("PurgeRoute(1)", a1, false)
	f("PurgeRoute(1)", a2, false)
	f("PurgeRoute(1)", b1, true)
	time.Sleep(10 * time.Millisecond)
	f("PurgeRoute(1) later", a1, false)

	store() // entries made after the purge are served
	f("after refill", a1, true)
	f("after refill", b1, true)

	c.PurgeAll()
	f("PurgeAll", a1, false)
	f("PurgeAll", a2, false)
	f("PurgeAll", b1, false)
	store()
	f("after PurgeAll and refill", b1, true)

	// Routes that share a purge slot are purged together: an extra miss, never a
	// stale body.
	mustStore(t, c, keyOf(purgeSlots+2, "x"), purgeSlots+2, "x", time.Minute, 0)
	c.PurgeRoute(2)
	f("PurgeRoute of a slot sharer", keyOf(purgeSlots+2, "x"), false)
	if got := c.Stats().Purges; got != 3 {
		t.Fatalf("Purges: got %d; want 3", got)
	}
}

// TestPurgeDuringFill purges a route while a fill of it runs: the fill read its data
// before the purge, so its result must not be served after it.
func TestPurgeDuringFill(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "k")
	started, release := make(chan struct{}), make(chan struct{})
	go c.Do(context.Background(), k, func(ctx context.Context) (*Entry, error) {
		close(started)
		<-release
		return c.NewEntry(1, Meta{Status: 200}, []byte("read before the purge"), time.Minute, time.Minute), nil
	})
	<-started
	c.PurgeRoute(1)
	close(release)
	waitFor(t, "the fill to finish", func() bool { return c.Refresh(k, func(context.Context) (*Entry, error) { return nil, nil }) })
	c.Wait()
	if e, ok := c.Get(k); ok {
		t.Fatalf("Get after a purge during the fill: got %q; want a miss", e.Body)
	}
	if e, ok := c.GetStale(k); ok {
		t.Fatalf("GetStale after a purge during the fill: got %q; want a miss", e.Body)
	}
}

// TestPurgeRace runs readers against a writer that changes the "database" and then
// purges: a lookup that starts after a purge returned must never see data from
// before it, whether it reads through Get, GetStale or Do's fills.
func TestPurgeRace(t *testing.T) {
	c := newTestCache(t, Options{})
	const route = 5
	keys := []uint64{keyOf(route, "1"), keyOf(route, "2"), keyOf(route, "3")}
	var (
		db        atomic.Int64 // the row's current version
		published atomic.Int64 // versions below this were purged
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	db.Store(1)
	published.Store(1)
	fill := func(ctx context.Context) (*Entry, error) {
		v := db.Load()
		time.Sleep(200 * time.Microsecond) // a query that a purge may overtake
		return c.NewEntry(route, Meta{Status: 200}, strconv.AppendInt(nil, v, 10), time.Minute, time.Minute), nil
	}
	version := func(e *Entry) int64 {
		v, err := strconv.ParseInt(string(e.Body), 10, 64)
		if err != nil {
			t.Errorf("body %q: %s", e.Body, err)
		}
		return v
	}
	check := func(how string, min int64, e *Entry) {
		if v := version(e); v < min {
			t.Errorf("%s: got version %d after the purge of every version below %d", how, v, min)
			stop.Store(true)
		}
	}
	for r := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := keys[(r+i)%len(keys)]
				min := published.Load()
				if e, ok := c.Get(k); ok {
					check("Get", min, e)
				}
				if e, ok := c.GetStale(k); ok {
					check("GetStale", min, e)
				}
				e, _, err := c.Do(context.Background(), k, fill)
				if err != nil {
					t.Errorf("Do: %s", err)
					return
				}
				check("Do", min, e)
			}
		})
	}
	for v := int64(2); v <= 200; v++ {
		db.Store(v) // the UPDATE commits
		c.PurgeRoute(route)
		published.Store(v) // every version below v is purged
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if c.Stats().Purges != 199 {
		t.Fatalf("Purges: got %d; want 199", c.Stats().Purges)
	}
}

func TestMarkStale(t *testing.T) {
	c := newTestCache(t, Options{})
	a1, a2, b1 := keyOf(1, "a1"), keyOf(1, "a2"), keyOf(2, "b1")
	store := func() {
		mustStore(t, c, a1, 1, "a1", time.Minute, time.Minute)
		mustStore(t, c, a2, 1, "a2", time.Minute, time.Minute)
		mustStore(t, c, b1, 2, "b1", time.Minute, time.Minute)
	}
	// f checks what Get (fresh) and GetStale (servable) find under key.
	f := func(step string, key uint64, fresh, servable bool) {
		t.Helper()
		if _, ok := c.Get(key); ok != fresh {
			t.Fatalf("%s: Get(%x): got hit=%v; want %v", step, key, ok, fresh)
		}
		if _, ok := c.GetStale(key); ok != servable {
			t.Fatalf("%s: GetStale(%x): got hit=%v; want %v", step, key, ok, servable)
		}
	}
	store()
	c.MarkStale(1)
	f("MarkStale(1)", a1, false, true)
	f("MarkStale(1)", a2, false, true)
	f("MarkStale(1)", b1, true, true)
	if st := c.Stats(); st.StaleServed != 2 || st.StaleMarks != 1 || st.Purges != 0 {
		t.Fatalf("stats after MarkStale: got %+v; want 2 stale served, 1 stale mark, no purge", st)
	}

	// A stale entry is a miss for Do: it refills, and the new entry is fresh.
	fills := 0
	e, _, err := c.Do(context.Background(), a1, func(context.Context) (*Entry, error) {
		fills++
		return c.NewEntry(1, Meta{Status: 200}, []byte("a1 again"), time.Minute, time.Minute), nil
	})
	if err != nil || fills != 1 || string(e.Body) != "a1 again" {
		t.Fatalf("Do on a stale entry: got %v, %d fills, %v; want one fill", e, fills, err)
	}
	f("after the refill", a1, true, true)
	f("after the refill", a2, false, true)

	// A purge still wins over a stale mark.
	c.PurgeRoute(1)
	f("MarkStale then PurgeRoute", a2, false, false)

	store()
	c.MarkAllStale()
	f("MarkAllStale", a1, false, true)
	f("MarkAllStale", b1, false, true)
	store()
	f("after MarkAllStale and refill", b1, true, true)

	// A stale entry stays servable until its StaleUntil, no longer.
	k := keyOf(3, "short")
	mustStore(t, c, k, 3, "short", time.Minute, 0)
	c.MarkStale(3)
	f("MarkStale, no grace", k, false, true)
	k = keyOf(3, "expiring")
	mustStore(t, c, k, 3, "expiring", 30*time.Millisecond, 30*time.Millisecond)
	c.MarkStale(3)
	f("MarkStale, before StaleUntil", k, false, true)
	time.Sleep(80 * time.Millisecond)
	f("MarkStale, after StaleUntil", k, false, false)

	// Routes sharing a slot are marked together.
	k = keyOf(purgeSlots+4, "x")
	mustStore(t, c, k, purgeSlots+4, "x", time.Minute, time.Minute)
	c.MarkStale(4)
	f("MarkStale of a slot sharer", k, false, true)
	if got := c.Stats().StaleMarks; got != 5 {
		t.Fatalf("StaleMarks: got %d; want 5", got)
	}
}

// TestMarkStaleDuringFill marks a route stale while a fill of it runs: the fill read
// its data before the mark, so its result is stored stale, and a caller that joined
// the fill after the mark does not take it.
func TestMarkStaleDuringFill(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "k")
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan *Entry, 1)
	go func() {
		e, _, _ := c.Do(context.Background(), k, func(ctx context.Context) (*Entry, error) {
			close(started)
			<-release
			return c.NewEntry(1, Meta{Status: 200}, []byte("read before the mark"), time.Minute, time.Minute), nil
		})
		first <- e
	}()
	<-started
	c.MarkStale(1)
	joined := make(chan *Entry, 1)
	go func() {
		e, _, _ := c.Do(context.Background(), k, func(context.Context) (*Entry, error) {
			return c.NewEntry(1, Meta{Status: 200}, []byte("read after the mark"), time.Minute, time.Minute), nil
		})
		joined <- e
	}()
	waitFor(t, "the second caller to join", func() bool { return c.Stats().Coalesced >= 1 })
	close(release)
	if e := <-first; string(e.Body) != "read before the mark" {
		t.Fatalf("the fill's own caller: got %q; want its result", e.Body)
	}
	if e := <-joined; string(e.Body) != "read after the mark" {
		t.Fatalf("a caller that joined after the mark: got %q; want a newer fill's result", e.Body)
	}
	c.Wait()
	if e, ok := c.Get(k); !ok || string(e.Body) != "read after the mark" {
		t.Fatalf("Get after both fills: got %v, %v; want the newer body", e, ok)
	}
}

// TestMarkStaleOfAFillNobodyJoined stores the result of a fill that began before the
// mark: it must be servable only as stale.
func TestMarkStaleOfAFillNobodyJoined(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "k")
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Do(context.Background(), k, func(ctx context.Context) (*Entry, error) {
			close(started)
			<-release
			return c.NewEntry(1, Meta{Status: 200}, []byte("read before the mark"), time.Minute, time.Minute), nil
		})
	}()
	<-started
	c.MarkStale(1)
	close(release)
	<-done
	c.Wait()
	if e, ok := c.Get(k); ok {
		t.Fatalf("Get after a mark during the fill: got %q; want a miss", e.Body)
	}
	if e, ok := c.GetStale(k); !ok || string(e.Body) != "read before the mark" {
		t.Fatalf("GetStale after a mark during the fill: got %v, %v; want the body, as stale", e, ok)
	}
}
