package cache

// Refresh starts fill for key in the background, for stale_while_revalidate: the
// caller serves the stale entry from GetStale while the refresh stores a new one. It
// starts nothing and returns false when a fill of key (a Do or another Refresh) is
// already running or the cache is closed; Do calls for key that miss meanwhile wait
// for the refresh. fill gets a context that Close cancels, and Close waits for it to
// return. A panic in fill is a bug and crashes the process, as in any goroutine.
func (c *Cache) Refresh(key uint64, fill FillFunc) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed.Load() {
		return false
	}
	sh := &c.flight.shards[key&(flightShards-1)]
	sh.mu.Lock()
	if sh.calls[key] != nil {
		sh.mu.Unlock()
		return false
	}
	cl := c.newCall()
	sh.calls[key] = cl
	sh.mu.Unlock()

	c.st.refreshes.Add(1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.lead(c.ctx, key, cl, fill)
	}()
	return true
}
