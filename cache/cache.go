package cache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Cache is the result cache of declared routes: entries keyed by a uint64 from a
// Hasher, with per-entry TTL and stale grace, coalesced fills, background refresh
// and O(1) purges. All methods are safe for concurrent use, including with Close;
// after Close every lookup misses, Set stores nothing and Do calls fill directly.
type Cache struct {
	opts Options
	// rc is nil until the first Set creates it (see store): ristretto
	// allocates its admission counters up front (about 9 MB for the
	// default 256 MiB budget), which a cache nothing was stored in does
	// not need. The GC counts them as live heap, and lets the heap grow
	// past the live size by as much again, so a cold cache cost about
	// twice their size in RSS under load; lookups before the first Set
	// are misses counted in st.cold.
	rc       atomic.Pointer[ristretto.Cache[uint64, *Entry]]
	rcConfig ristretto.Config[uint64, *Entry]
	rcOnce   sync.Once
	comp     *compressor
	// closed turns every method into a miss. It is read by every lookup, so it sits
	// among fields that are never written after New, away from mu.
	closed atomic.Bool

	// seq is the purge counter; allPurge and allStale hold the value taken by the
	// latest PurgeAll and MarkAllStale, routeMarks those taken by the latest
	// PurgeRoute and MarkStale of each route slot.
	seq        atomic.Uint64
	allPurge   atomic.Uint64
	allStale   atomic.Uint64
	routeMarks [purgeSlots]routeMarks

	flight flight
	st     counters

	// mu orders the calls that write to ristretto or start goroutines (read-locked)
	// against Close (write-locked), since ristretto panics on a Set after its Close.
	mu        sync.RWMutex
	closeOnce sync.Once
	// ctx is cancelled by Close; it bounds every fill, and wg counts the goroutines
	// Refresh started.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	gate gate
}

// New returns a Cache configured by opts, or the error Validate reports. The caller
// must Close it to stop ristretto's goroutines and any background refresh.
func New(opts Options) (*Cache, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	c := &Cache{
		opts: opts,
		comp: newCompressor(opts.GzipLevel, opts.BrotliLevel),
	}
	c.rcConfig = ristretto.Config[uint64, *Entry]{
		NumCounters: opts.NumCounters,
		MaxCost:     opts.MaxBytes,
		BufferItems: opts.BufferItems,
		Metrics:     true,
		// Keys are already xxhash values: use them as they are, without the
		// default's type switch through an interface.
		KeyToHash: func(key uint64) (uint64, uint64) { return key, 0 },
		OnReject:  func(*ristretto.Item[*Entry]) { c.st.rejected.Add(1) },
	}
	c.flight.init()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Get returns the fresh entry stored under key. An entry that has expired, or whose
// route was purged after its data was read, is a miss. Get does not allocate.
func (c *Cache) Get(key uint64) (*Entry, bool) {
	return c.GetAt(key, time.Now())
}

// GetAt is Get with freshness judged at now, for callers that already read the clock
// for the request (fasthttp's RequestCtx.Time, say): a clock read is a large share of a
// lookup's cost, and ristretto already makes one. An entry marked stale (MarkStale,
// MarkAllStale) is not fresh, whatever its ExpiresAt.
func (c *Cache) GetAt(key uint64, now time.Time) (*Entry, bool) {
	e, ok := c.lookup(key)
	if !ok {
		return nil, false
	}
	if !c.valid(e) || !c.fresh(e, now) {
		c.st.unusable.Add(1)
		return nil, false
	}
	return e, true
}

// GetStale returns the entry stored under key if it is fresh or still within its
// stale grace (before StaleUntil): the body to serve when the database fails
// (stale_if_error) or while a Refresh runs (stale_while_revalidate). Purged entries
// are never returned; entries marked stale are, until their StaleUntil. An entry it
// returns that is not fresh (expired or marked stale) counts as stale served in Stats.
// GetStale does not count as a hit or a miss: it follows a Get that already did.
func (c *Cache) GetStale(key uint64) (*Entry, bool) {
	if c.closed.Load() {
		return nil, false
	}
	e, ok := c.lookup(key)
	if !ok {
		c.st.auxMissed.Add(1)
		return nil, false
	}
	c.st.auxFound.Add(1)
	now := time.Now()
	if !c.valid(e) || !now.Before(e.StaleUntil) {
		return nil, false
	}
	if !c.fresh(e, now) {
		c.st.staleServed.Add(1)
	}
	return e, true
}

// Set stores e under key until e.StaleUntil, and reports whether ristretto accepted
// it. The cache is best-effort: a Set may be dropped under contention or rejected by
// the admission policy later, and becomes visible asynchronously (Wait makes it
// visible). e must not be modified afterwards. An entry stored with Set counts as
// read when NewEntry made it; Do and Refresh record the earlier moment their fill
// started, so a purge during the fill also purges its result.
func (c *Cache) Set(key uint64, e *Entry) bool {
	if e == nil {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.setLocked(key, e)
}

// setLocked is Set for callers holding c.mu read-locked.
func (c *Cache) setLocked(key uint64, e *Entry) bool {
	if c.closed.Load() {
		return false
	}
	ttl := time.Until(e.StaleUntil)
	if !e.ExpiresAt.After(e.StoredAt) || ttl <= 0 {
		c.st.dropped.Add(1)
		return false
	}
	if !c.store().SetWithTTL(key, e, e.Cost(), ttl) {
		c.st.dropped.Add(1)
		return false
	}
	c.st.sets.Add(1)
	return true
}

// Wait blocks until every Set made before it has been applied (or dropped), so that a
// Get that follows sees it. Tests and the fill path use it; the hit path never does.
func (c *Cache) Wait() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if rc := c.rc.Load(); rc != nil && !c.closed.Load() {
		rc.Wait()
	}
}

// Close stops background refreshes (cancelling their context and waiting for them),
// cancels the context of running fills, waits for lookups in flight and releases
// ristretto. It is idempotent; every method stays safe to call afterwards.
func (c *Cache) Close() {
	c.closeOnce.Do(func() {
		// No Set or Refresh start is in progress once the write lock is taken, and
		// later ones see closed.
		c.mu.Lock()
		c.closed.Store(true)
		c.mu.Unlock()
		c.cancel()
		c.wg.Wait()
		c.gate.drain()
		if rc := c.rc.Load(); rc != nil {
			rc.Close()
		}
	})
}

// store returns ristretto, creating it on the first call. Callers hold c.mu
// read-locked and have checked closed, so Close never runs meanwhile.
func (c *Cache) store() *ristretto.Cache[uint64, *Entry] {
	c.rcOnce.Do(func() {
		rc, err := ristretto.NewCache(&c.rcConfig)
		if err != nil {
			// Options.Validate and withDefaults rule out every config
			// ristretto refuses.
			panic(fmt.Sprintf("BUG: cannot create ristretto cache from validated options: %v", err))
		}
		c.rc.Store(rc)
	})
	return c.rc.Load()
}

// lookup reads key from ristretto, unless the cache is closed or closing.
func (c *Cache) lookup(key uint64) (*Entry, bool) {
	slot := c.gate.enter(key, &c.closed)
	if slot == nil {
		return nil, false
	}
	rc := c.rc.Load()
	if rc == nil {
		slot.Add(-1)
		c.st.cold.Add(1)
		return nil, false
	}
	e, ok := rc.Get(key)
	slot.Add(-1)
	return e, ok
}

// peek is Get for the cache's own second look, which Stats must not count as a hit
// or a miss.
func (c *Cache) peek(key uint64) (*Entry, bool) {
	e, ok := c.lookup(key)
	if !ok {
		c.st.auxMissed.Add(1)
		return nil, false
	}
	c.st.auxFound.Add(1)
	if !c.valid(e) || !c.fresh(e, time.Now()) {
		return nil, false
	}
	return e, true
}
