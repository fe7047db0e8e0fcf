package sqlclass

import (
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// The caches of Classify and Fingerprint are direct-mapped: a fixed array of
// slots, each an atomic pointer to an immutable entry, picked by the text's
// xxhash and confirmed by comparing the text itself. A lookup is a hash, an
// atomic load and a string comparison, with no lock and no allocation; a
// store replaces whatever the slot held. There is no LRU to keep up: a
// collision only costs a parse, and an account that floods the cache with
// distinct texts evicts entries, not memory.
//
// Memory is bounded by slots × the largest entry: texts longer than
// maxCachedText are classified every time instead (they are rare, and no
// slot may hold megabytes), and every string an entry keeps is its own copy,
// never a piece of a larger buffer.
const (
	// cacheSlots is a power of two. 4096 distinct texts cover an API's
	// working set of queries many times over.
	cacheSlots = 4096
	// maxCachedText caps the text one slot keeps: at worst 4096 × 4 KiB =
	// 16 MiB for Classify, and twice that for Fingerprint (which keeps the
	// normalized text too); a few hundred KiB for typical queries.
	maxCachedText = 4 << 10
)

var (
	classCache slotCache[classEntry]
	fpCache    slotCache[fpEntry]
)

type slotCache[E any] struct {
	slots [cacheSlots]atomic.Pointer[E]
}

func (c *slotCache[E]) load(h uint64) *E     { return c.slots[h&(cacheSlots-1)].Load() }
func (c *slotCache[E]) store(h uint64, e *E) { c.slots[h&(cacheSlots-1)].Store(e) }

// reset empties the cache (tests).
func (c *slotCache[E]) reset() {
	for i := range c.slots {
		c.slots[i].Store(nil)
	}
}

func hashText(s string) uint64 { return xxhash.Sum64String(s) }
