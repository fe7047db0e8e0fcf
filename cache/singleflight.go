package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrFillPanicked is what the callers sharing a fill receive when the fill panicked in
// the caller that ran it (which sees the panic itself).
var ErrFillPanicked = errors.New("cache: fill panicked")

// FillFunc computes the entry for a key that missed, typically by running the
// route's query and calling Cache.NewEntry. Returning a nil Entry and a nil error
// answers without caching (a body too large to keep, say); the callers sharing the
// fill then get nil too and must compute their own answer. An error is returned to
// every caller sharing the fill and is not cached.
type FillFunc func(ctx context.Context) (*Entry, error)

// flightShards is the number of independently locked parts of the in-flight table.
const flightShards = 64

// call is one fill in flight. seq is the purge counter read before the fill started;
// e and err are written before done is closed and only read after.
type call struct {
	done chan struct{}
	seq  uint64
	e    *Entry
	err  error
}

// newCall returns a call whose fill has not started yet.
func (c *Cache) newCall() *call {
	return &call{done: make(chan struct{}), seq: c.seq.Load()}
}

// maxJoins bounds how many fills a Do call joins before running its own; see Do.
const maxJoins = 4

// flight is a singleflight keyed by uint64: golang.org/x/sync/singleflight takes
// string keys, which would cost a conversion and an allocation per miss. It is
// sharded so that misses on different keys rarely share a lock.
type flight struct {
	shards [flightShards]struct {
		mu    sync.Mutex
		calls map[uint64]*call
		_     [40]byte
	}
}

func (f *flight) init() {
	for i := range f.shards {
		f.shards[i].calls = make(map[uint64]*call)
	}
}

// finish removes cl from the table, if it is still the call of key, and releases its
// waiters.
func (f *flight) finish(key uint64, cl *call) {
	sh := &f.shards[key&(flightShards-1)]
	sh.mu.Lock()
	if sh.calls[key] == cl {
		delete(sh.calls, key)
	}
	sh.mu.Unlock()
	close(cl.done)
}

// Do returns the fresh entry of key, calling fill on a miss. Concurrent misses on
// one key run fill once: the first caller runs it, the others wait for its result
// (shared is then true, and Stats counts them as coalesced). The result is stored
// before the waiters are released, so callers arriving later hit.
//
// A caller that joins a fill which started before a purge of the route, and whose
// result that purge made invalid, does not take the result: it misses again and joins
// or runs a newer fill, so that no caller that started after a purge gets data read
// before it. The same holds for a MarkStale or MarkAllStale.
//
// Cancellation: fill runs on the first caller's goroutine with a context that keeps
// ctx's values but not its cancellation or deadline (context.WithoutCancel), so the
// first caller going away does not fail the fill for the others; fill must bound
// itself (the route's timeout), and Close cancels it. A waiting caller whose ctx ends
// stops waiting and gets ctx's error, while the fill carries on for the rest.
//
// After Close, Do calls fill with ctx directly and stores nothing.
func (c *Cache) Do(ctx context.Context, key uint64, fill FillFunc) (e *Entry, shared bool, err error) {
	if e, ok := c.Get(key); ok {
		return e, false, nil
	}
	for range maxJoins {
		if c.closed.Load() {
			break
		}
		sh := &c.flight.shards[key&(flightShards-1)]
		sh.mu.Lock()
		if cl := sh.calls[key]; cl != nil {
			joined := c.seq.Load()
			sh.mu.Unlock()
			c.st.coalesced.Add(1)
			e, shared, err := c.await(ctx, cl)
			if err == nil && e != nil && joined != cl.seq && (!c.valid(e) || c.markedStale(e)) {
				// Purged or marked stale, perhaps before this call joined: try a
				// newer fill.
				continue
			}
			return e, shared, err
		}
		// A fill may have finished between the Get above and the lock.
		if e, ok := c.peek(key); ok {
			sh.mu.Unlock()
			c.st.coalesced.Add(1)
			return e, true, nil
		}
		cl := c.newCall()
		sh.calls[key] = cl
		sh.mu.Unlock()

		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(c.ctx, cancel)
		defer func() {
			stop()
			cancel()
		}()
		c.lead(fctx, key, cl, fill)
		return cl.e, false, cl.err
	}
	// Closed, or purges kept overtaking the fills joined: answer without the cache.
	e, err = fill(ctx)
	return e, false, err
}

// await waits for cl or for ctx to end.
func (c *Cache) await(ctx context.Context, cl *call) (*Entry, bool, error) {
	select {
	case <-cl.done:
		return cl.e, true, cl.err
	case <-ctx.Done():
		return nil, true, fmt.Errorf("cache: cannot wait for a shared fill: %w", ctx.Err())
	}
}

// lead runs fill for cl, stores its entry, and releases cl's waiters, even when fill
// panics.
func (c *Cache) lead(ctx context.Context, key uint64, cl *call, fill FillFunc) {
	c.st.fills.Add(1)
	returned := false
	defer func() {
		if !returned {
			cl.e, cl.err = nil, ErrFillPanicked
			c.st.fillErrors.Add(1)
		}
		c.flight.finish(key, cl)
	}()
	e, err := fill(ctx)
	returned = true
	cl.e, cl.err = e, err
	if err != nil {
		c.st.fillErrors.Add(1)
		return
	}
	if e == nil {
		return
	}
	// cl.seq was read before fill read any data: a purge from then on also purges
	// the result.
	e.lowerSeq(cl.seq)
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.setLocked(key, e) {
		// Make the entry visible before the call leaves the table, so that a caller
		// arriving after it hits instead of filling again. setLocked created
		// ristretto if it was not there.
		c.rc.Load().Wait()
	}
}
