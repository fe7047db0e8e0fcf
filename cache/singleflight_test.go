package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDoColdKeyFillsOnce(t *testing.T) {
	c := newTestCache(t, Options{})
	const n = 1000
	k := keyOf(1, "cold")
	var fills atomic.Int32
	fill := func(ctx context.Context) (*Entry, error) {
		fills.Add(1)
		time.Sleep(50 * time.Millisecond) // a slow query: every caller arrives meanwhile
		return c.NewEntry(1, Meta{Status: 200}, []byte("filled"), time.Minute, 0), nil
	}
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		shared atomic.Int32
	)
	for range n {
		wg.Go(func() {
			<-start
			e, sh, err := c.Do(context.Background(), k, fill)
			if err != nil || e == nil || string(e.Body) != "filled" {
				t.Errorf("Do: got %v, %v; want the filled entry", e, err)
				return
			}
			if sh {
				shared.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := fills.Load(); got != 1 {
		t.Fatalf("%d concurrent misses on one key: got %d fills; want 1", n, got)
	}
	st := c.Stats()
	if st.Coalesced != uint64(shared.Load()) || st.Coalesced < n/2 {
		t.Fatalf("Coalesced: got %d (callers told shared: %d); want them equal and most of %d", st.Coalesced, shared.Load(), n)
	}
	if st.Fills != 1 {
		t.Fatalf("Stats.Fills: got %d; want 1", st.Fills)
	}
	// The result was stored: the next Do is a hit.
	if _, sh, _ := c.Do(context.Background(), k, fill); sh || fills.Load() != 1 {
		t.Fatalf("Do after the fill: got shared=%v and %d fills; want a plain hit", sh, fills.Load())
	}
}

func TestDoErrorNotCached(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "err")
	boom := errors.New("database down")
	release := make(chan struct{})
	var fills atomic.Int32
	failing := func(ctx context.Context) (*Entry, error) {
		fills.Add(1)
		<-release
		return nil, boom
	}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = c.Do(context.Background(), k, failing) })
	}
	waitFor(t, "5 callers in one fill", func() bool { return c.Stats().Coalesced == 4 })
	close(release)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, boom) {
			t.Fatalf("caller %d: got error %v; want %v", i, err, boom)
		}
	}
	// Not cached: the next Do runs a fill again, which may succeed.
	e, _, err := c.Do(context.Background(), k, func(ctx context.Context) (*Entry, error) {
		return c.NewEntry(1, Meta{Status: 200}, []byte("ok"), time.Minute, 0), nil
	})
	if err != nil || string(e.Body) != "ok" {
		t.Fatalf("Do after a failed fill: got %v, %v; want a new fill's entry", e, err)
	}
	if st := c.Stats(); st.Fills != 2 || st.FillErrors != 1 {
		t.Fatalf("Fills, FillErrors: got %d, %d; want 2, 1", st.Fills, st.FillErrors)
	}
}

func TestDoNilEntryNotCached(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "nil")
	var fills atomic.Int32
	fill := func(ctx context.Context) (*Entry, error) { fills.Add(1); return nil, nil }
	for range 2 {
		if e, _, err := c.Do(context.Background(), k, fill); e != nil || err != nil {
			t.Fatalf("Do with a nil fill: got %v, %v; want nil, nil", e, err)
		}
		c.Wait()
	}
	if fills.Load() != 2 {
		t.Fatalf("two Do with a nil fill: got %d fills; want 2", fills.Load())
	}
}

// TestDoCancellation checks that neither a waiter's nor the first caller's
// cancellation fails the fill for the others.
func TestDoCancellation(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "cancel")
	started, release := make(chan struct{}), make(chan struct{})
	fillErr := make(chan error, 1)
	fill := func(ctx context.Context) (*Entry, error) {
		close(started)
		<-release
		fillErr <- ctx.Err()
		return c.NewEntry(1, Meta{Status: 200}, []byte("done"), time.Minute, 0), nil
	}

	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	type result struct {
		e   *Entry
		err error
	}
	leader := make(chan result, 1)
	go func() {
		e, _, err := c.Do(leaderCtx, k, fill)
		leader <- result{e, err}
	}()
	<-started

	waiterCtx, cancelWaiter := context.WithCancel(context.Background())
	waiter := make(chan error, 1)
	go func() {
		_, shared, err := c.Do(waiterCtx, k, fill)
		if !shared {
			err = errors.New("waiter was not told it shared a fill")
		}
		waiter <- err
	}()
	patient := make(chan result, 1)
	go func() {
		e, _, err := c.Do(context.Background(), k, fill)
		patient <- result{e, err}
	}()
	waitFor(t, "two waiters", func() bool { return c.Stats().Coalesced == 2 })

	cancelWaiter()
	if err := <-waiter; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: got %v; want context.Canceled", err)
	}
	cancelLeader()
	time.Sleep(10 * time.Millisecond)
	close(release)

	if err := <-fillErr; err != nil {
		t.Fatalf("fill context after the first caller and a waiter were cancelled: got %v; want still alive", err)
	}
	if r := <-leader; r.err != nil || string(r.e.Body) != "done" {
		t.Fatalf("first caller: got %v, %v; want the entry", r.e, r.err)
	}
	if r := <-patient; r.err != nil || string(r.e.Body) != "done" {
		t.Fatalf("remaining waiter: got %v, %v; want the entry", r.e, r.err)
	}
}

func TestDoCloseCancelsFill(t *testing.T) {
	c, err := New(testOptions)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Do(context.Background(), 1, func(ctx context.Context) (*Entry, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		done <- err
	}()
	<-started
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("fill cut by Close: got %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("fill still running 5s after Close; want its context cancelled")
	}
}

func TestDoFillPanic(t *testing.T) {
	c := newTestCache(t, Options{})
	k := keyOf(1, "panic")
	started, release := make(chan struct{}), make(chan struct{})
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		c.Do(context.Background(), k, func(ctx context.Context) (*Entry, error) {
			close(started)
			<-release
			panic("bug in fill")
		})
	}()
	<-started
	waiter := make(chan error, 1)
	go func() {
		_, _, err := c.Do(context.Background(), k, nil)
		waiter <- err
	}()
	waitFor(t, "a waiter", func() bool { return c.Stats().Coalesced == 1 })
	close(release)
	if got := <-recovered; got != "bug in fill" {
		t.Fatalf("first caller: got panic %v; want the fill's panic", got)
	}
	if err := <-waiter; !errors.Is(err, ErrFillPanicked) {
		t.Fatalf("waiter of a panicking fill: got %v; want ErrFillPanicked", err)
	}
	// The key is free again.
	e, _, err := c.Do(context.Background(), k, func(ctx context.Context) (*Entry, error) {
		return c.NewEntry(1, Meta{Status: 200}, []byte("recovered"), time.Minute, 0), nil
	})
	if err != nil || string(e.Body) != "recovered" {
		t.Fatalf("Do after a panicking fill: got %v, %v; want a new fill", e, err)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited 5s for %s; want it sooner", what)
}
