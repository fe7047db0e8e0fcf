package cache

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestRefreshReplacesStaleEntry(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "swr")
	mustStore(t, c, k, 1, "old", 50*time.Millisecond, time.Minute)
	time.Sleep(80 * time.Millisecond)

	stale, ok := c.GetStale(k)
	if !ok || string(stale.Body) != "old" {
		t.Fatalf("GetStale of an expired entry in grace: got %v, %v; want the old entry", stale, ok)
	}
	done := make(chan struct{})
	started := c.Refresh(k, func(ctx context.Context) (*Entry, error) {
		defer close(done)
		return c.NewEntry(1, Meta{Status: 200}, []byte("new"), time.Minute, time.Minute), nil
	})
	if !started {
		t.Fatalf("Refresh of an idle key: got false; want true")
	}
	<-done
	waitFor(t, "the refreshed entry", func() bool {
		e, ok := c.Get(k)
		return ok && string(e.Body) == "new"
	})
	if got := c.Stats().Refreshes; got != 1 {
		t.Fatalf("Refreshes: got %d; want 1", got)
	}
}

func TestRefreshOncePerKey(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "one")
	release := make(chan struct{})
	var fills atomic.Int32
	fill := func(ctx context.Context) (*Entry, error) {
		fills.Add(1)
		<-release
		return c.NewEntry(1, Meta{Status: 200}, []byte("refreshed"), time.Minute, 0), nil
	}
	if !c.Refresh(k, fill) {
		t.Fatalf("first Refresh: got false; want true")
	}
	for range 10 {
		if c.Refresh(k, fill) {
			t.Fatalf("Refresh while one runs: got true; want false")
		}
	}
	if !c.Refresh(keyOf(1, "other key"), func(ctx context.Context) (*Entry, error) { return nil, nil }) {
		t.Fatalf("Refresh of another key: got false; want true")
	}
	// A Do that misses meanwhile waits for the refresh instead of filling.
	got := make(chan *Entry, 1)
	go func() {
		e, _, _ := c.Do(context.Background(), k, fill)
		got <- e
	}()
	waitFor(t, "Do to join the refresh", func() bool { return c.Stats().Coalesced == 1 })
	close(release)
	if e := <-got; e == nil || string(e.Body) != "refreshed" {
		t.Fatalf("Do during a refresh: got %v; want the refreshed entry", e)
	}
	if fills.Load() != 1 {
		t.Fatalf("fills: got %d; want 1", fills.Load())
	}
	c.Wait()
	// The key is free again once the refresh is done.
	waitFor(t, "the refresh to finish", func() bool {
		return c.Refresh(k, func(ctx context.Context) (*Entry, error) { return nil, nil })
	})
}

func TestCloseWaitsForRefresh(t *testing.T) {
	c, err := New(testOptions)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var finished atomic.Bool
	c.Refresh(1, func(ctx context.Context) (*Entry, error) {
		close(started)
		<-ctx.Done() // Close cancels it
		time.Sleep(20 * time.Millisecond)
		finished.Store(true)
		return nil, ctx.Err()
	})
	<-started
	c.Close()
	if !finished.Load() {
		t.Fatalf("Close returned before the refresh did; want it to wait")
	}
}
