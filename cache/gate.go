package cache

import (
	"runtime"
	"sync/atomic"
)

// gateSlots is the number of in-flight counters; a power of two.
const gateSlots = 32

// gate counts the ristretto lookups in flight so that Close can wait for them before
// closing ristretto, whose Get may send on a channel that Close closes. The counters
// are striped by key and padded to a cache line each, so that lookups on different
// cores rarely touch the same line.
type gate struct {
	slots [gateSlots]struct {
		n atomic.Int64
		_ [56]byte
	}
}

// enter registers a lookup of key and returns its counter, to be decremented when the
// lookup is done, or nil when closed is set. Close sets closed before draining; since
// both sides store before they load (sequentially consistent atomics), either the
// lookup sees closed or drain sees the lookup.
func (g *gate) enter(key uint64, closed *atomic.Bool) *atomic.Int64 {
	n := &g.slots[key&(gateSlots-1)].n
	n.Add(1)
	if closed.Load() {
		n.Add(-1)
		return nil
	}
	return n
}

// drain waits until no lookup is in flight. New lookups must already be refused.
func (g *gate) drain() {
	for i := range g.slots {
		for g.slots[i].n.Load() != 0 {
			runtime.Gosched()
		}
	}
}
