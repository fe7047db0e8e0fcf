package cache

import "sync/atomic"

// counters are the cache's own event counts; ristretto's Metrics supply the rest.
type counters struct {
	sets        atomic.Uint64
	dropped     atomic.Uint64 // Set refused or not taken by ristretto
	rejected    atomic.Uint64 // taken by Set, then refused by the admission policy
	unusable    atomic.Uint64 // Get found an entry that was expired or purged
	auxFound    atomic.Uint64 // internal lookups that ristretto counted as hits
	auxMissed   atomic.Uint64 // internal lookups that ristretto counted as misses
	cold        atomic.Uint64 // lookups before the first Set created ristretto: misses
	coalesced   atomic.Uint64
	staleServed atomic.Uint64
	refreshes   atomic.Uint64
	fills       atomic.Uint64
	fillErrors  atomic.Uint64
	purges      atomic.Uint64
	staleMarks  atomic.Uint64
}

// Stats is a snapshot of a Cache's counters since New; the engine renders it as
// pgfast_cache_* metrics and in /admin/stats.
type Stats struct {
	// Hits and Misses count Get calls (Do calls Get first) by outcome; an expired or
	// purged entry is a miss.
	Hits   uint64
	Misses uint64
	// Sets counts entries handed to ristretto; DroppedSets those it dropped (a full
	// buffer, an entry already past its time) or its admission policy refused.
	Sets        uint64
	DroppedSets uint64
	// Evictions counts entries ristretto removed, to make room or because their TTL
	// (ttl + grace) passed.
	Evictions uint64
	// Coalesced counts Do calls that used another caller's fill instead of their own.
	Coalesced uint64
	// StaleServed counts expired entries returned by GetStale.
	StaleServed uint64
	// Refreshes counts background refreshes started.
	Refreshes uint64
	// Fills and FillErrors count fills run by Do and Refresh, and those that failed.
	Fills      uint64
	FillErrors uint64
	// Purges counts PurgeRoute and PurgeAll calls.
	Purges uint64
	// StaleMarks counts MarkStale and MarkAllStale calls.
	StaleMarks uint64
	// CostUsed is the bytes currently charged against MaxCost (MaxBytes).
	CostUsed int64
	MaxCost  int64
}

// Stats returns a snapshot of the counters. Counters move while it reads them, so
// two fields may disagree by the few events that happened in between.
func (c *Cache) Stats() Stats {
	// The cache's own counters are read before ristretto's: each internal lookup is
	// counted by ristretto first, so the subtractions below cannot go negative.
	unusable := c.st.unusable.Load()
	auxFound := c.st.auxFound.Load()
	auxMissed := c.st.auxMissed.Load()
	cold := c.st.cold.Load()
	var hits, misses, evicted uint64
	maxCost, remaining := c.opts.MaxBytes, c.opts.MaxBytes
	if rc := c.rc.Load(); rc != nil {
		m := rc.Metrics
		hits, misses, evicted = m.Hits(), m.Misses(), m.KeysEvicted()
		maxCost, remaining = rc.MaxCost(), rc.RemainingCost()
	}
	s := Stats{
		Hits:        sub(hits, auxFound+unusable),
		Misses:      sub(misses+cold, auxMissed) + unusable,
		Sets:        c.st.sets.Load(),
		DroppedSets: c.st.dropped.Load() + c.st.rejected.Load(),
		Evictions:   evicted,
		Coalesced:   c.st.coalesced.Load(),
		StaleServed: c.st.staleServed.Load(),
		Refreshes:   c.st.refreshes.Load(),
		Fills:       c.st.fills.Load(),
		FillErrors:  c.st.fillErrors.Load(),
		Purges:      c.st.purges.Load(),
		StaleMarks:  c.st.staleMarks.Load(),
		MaxCost:     maxCost,
	}
	s.CostUsed = maxCost - remaining
	return s
}

// sub returns a - b, or 0 when b is larger.
func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}
