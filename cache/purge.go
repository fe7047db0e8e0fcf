package cache

import (
	"sync/atomic"
	"time"
)

// purgeSlots is the number of per-route purge and stale marks; a power of two. Route
// indexes beyond it share marks, so purging (or marking stale) one of them also purges
// (marks) the others: never a stale body served as fresh, only an extra miss.
const purgeSlots = 1 << 12

const purgeMask = purgeSlots - 1

// routeMarks are the marks of one route slot, side by side so that a lookup reads
// both from one cache line.
type routeMarks struct {
	purge atomic.Uint64 // entries below it are absent
	stale atomic.Uint64 // entries below it are expired, still servable as stale
}

// PurgeRoute makes every entry of route made from data read before the call a miss
// from now on. It is O(1): see the package documentation on invalidation.
func (c *Cache) PurgeRoute(route uint32) {
	storeMax(&c.routeMarks[route&purgeMask].purge, c.seq.Add(1))
	c.st.purges.Add(1)
}

// PurgeAll makes every entry made from data read before the call a miss from now on.
func (c *Cache) PurgeAll() {
	storeMax(&c.allPurge, c.seq.Add(1))
	c.st.purges.Add(1)
}

// MarkStale expires every entry of route made from data read before the call, without
// removing it: Get and Do miss it from now on (so the next request refills it), while
// GetStale still returns it until its StaleUntil, for stale_if_error and
// stale_while_revalidate. It is for data that may be out of date but is still the best
// answer when the database cannot give a newer one: the engine marks the routes of a
// database whose invalidation listener lost its connection, since a NOTIFY may have
// been missed meanwhile, where a NOTIFY itself purges. Like PurgeRoute it is O(1).
func (c *Cache) MarkStale(route uint32) {
	storeMax(&c.routeMarks[route&purgeMask].stale, c.seq.Add(1))
	c.st.staleMarks.Add(1)
}

// MarkAllStale is MarkStale for every route.
func (c *Cache) MarkAllStale() {
	storeMax(&c.allStale, c.seq.Add(1))
	c.st.staleMarks.Add(1)
}

// valid reports whether e was made after the latest purge of its route and of all
// routes.
func (c *Cache) valid(e *Entry) bool {
	s := e.seq.Load()
	return s >= c.allPurge.Load() && s >= c.routeMarks[e.Route&purgeMask].purge.Load()
}

// markedStale reports whether e was made before the latest MarkStale of its route or
// MarkAllStale.
func (c *Cache) markedStale(e *Entry) bool {
	s := e.seq.Load()
	return s < c.allStale.Load() || s < c.routeMarks[e.Route&purgeMask].stale.Load()
}

// fresh reports whether e is fresh at now: before its ExpiresAt and not marked stale.
func (c *Cache) fresh(e *Entry, now time.Time) bool {
	return e.Fresh(now) && !c.markedStale(e)
}

// storeMax raises p to v unless it already holds more; two purges finishing out of
// order must not lower a mark.
func storeMax(p *atomic.Uint64, v uint64) {
	for {
		cur := p.Load()
		if cur >= v || p.CompareAndSwap(cur, v) {
			return
		}
	}
}
