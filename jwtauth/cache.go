package jwtauth

import (
	"bytes"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// cacheShards splits the cache so that concurrent requests for different
// tokens rarely meet on one lock.
const cacheShards = 16

// tokenCache maps token bytes to the Claims they verified to. A hit costs a
// seeded 64-bit hash of the token, a read lock and a byte compare with the
// stored copy of the token: a hash collision can therefore only cause a
// miss, never hand one token's claims to another.
//
// Entries leave when their token expires (collected lazily, when a shard
// is full) or when the shard needs room (random eviction: no bookkeeping
// on the hit path, and a token evicted too early costs one signature
// check), and all at once when the key set changes, so that a token
// signed by a retired key is verified again.
type tokenCache struct {
	seed     maphash.Seed
	perShard int
	gen      atomic.Uint64 // bumped by clear; a put from an older generation is dropped
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu   sync.RWMutex
	m    map[uint64]*cacheEntry
	hits atomic.Uint64
	_    [64]byte // keeps neighbouring shards' locks off one cache line
}

type cacheEntry struct {
	token  []byte // a private copy of the verified token
	claims *Claims
}

// newTokenCache returns a cache for about size tokens (rounded up to a
// multiple of the shard count).
func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: (size + cacheShards - 1) / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]*cacheEntry)
	}
	return c
}

// get returns the claims cached for token. It allocates nothing.
func (c *tokenCache) get(token []byte) (*Claims, bool) {
	h := maphash.Bytes(c.seed, token)
	s := &c.shards[h%cacheShards]
	s.mu.RLock()
	e := s.m[h]
	s.mu.RUnlock()
	if e == nil || !bytes.Equal(e.token, token) {
		return nil, false
	}
	s.hits.Add(1)
	return e.claims, true
}

// put stores claims for a copy of token, unless the cache was cleared since
// generation gen was read (the claims may rest on a retired key).
func (c *tokenCache) put(token []byte, claims *Claims, gen uint64, now time.Time) {
	h := maphash.Bytes(c.seed, token)
	e := &cacheEntry{token: append([]byte(nil), token...), claims: claims}
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if _, ok := s.m[h]; !ok && len(s.m) >= c.perShard {
		s.makeRoom(c.perShard, now)
	}
	s.m[h] = e
}

// makeRoom drops the shard's expired entries and, if that frees less than
// a sixteenth of it, random ones up to that sixteenth, so that the scan is
// paid once per perShard/16 insertions rather than on each. Go's map
// iteration starts at a random place, which makes the victims random.
func (s *cacheShard) makeRoom(perShard int, now time.Time) {
	for h, e := range s.m {
		if e.claims.checkTime(now) == ErrTokenExpired {
			delete(s.m, h)
		}
	}
	target := perShard - max(1, perShard/16)
	for h := range s.m {
		if len(s.m) <= target {
			break
		}
		delete(s.m, h)
	}
}

// generation returns the value to pass to put for claims verified with the
// key set current now.
func (c *tokenCache) generation() uint64 { return c.gen.Load() }

// clear empties the cache and refuses puts of claims verified before it.
func (c *tokenCache) clear() {
	c.gen.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

// len returns the number of cached tokens.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// hitCount returns the number of successful lookups.
func (c *tokenCache) hitCount() uint64 {
	var n uint64
	for i := range c.shards {
		n += c.shards[i].hits.Load()
	}
	return n
}
