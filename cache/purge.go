package cache

import "sync/atomic"

// purgeSlots is the number of per-route purge marks; a power of two. Route indexes
// beyond it share a mark, so purging one of them also purges the others: never a stale
// body, only an extra miss.
const purgeSlots = 1 << 12

const purgeMask = purgeSlots - 1

// PurgeRoute makes every entry of route made from data read before the call a miss
// from now on. It is O(1): see the package documentation on invalidation.
func (c *Cache) PurgeRoute(route uint32) {
	storeMax(&c.routePurge[route&purgeMask], c.seq.Add(1))
	c.st.purges.Add(1)
}

// PurgeAll makes every entry made from data read before the call a miss from now on.
func (c *Cache) PurgeAll() {
	storeMax(&c.allPurge, c.seq.Add(1))
	c.st.purges.Add(1)
}

// valid reports whether e was made after the latest purge of its route and of all
// routes.
func (c *Cache) valid(e *Entry) bool {
	s := e.seq.Load()
	return s >= c.allPurge.Load() && s >= c.routePurge[e.Route&purgeMask].Load()
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
