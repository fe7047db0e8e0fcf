package jwtauth

import (
	"hash/maphash"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// claimsExpiring returns cacheable claims with the given exp.
func claimsExpiring(exp time.Time) *Claims {
	return &Claims{Expires: exp, hasExp: true, expLimit: exp}
}

// A hash collision is a miss, never another token's claims: the stored
// token bytes are compared.
func TestCacheCollisionIsAMiss(t *testing.T) {
	c := newTokenCache(100)
	a, b := []byte("token-a"), []byte("token-b")
	h := maphash.Bytes(c.seed, a)
	s := &c.shards[h%cacheShards]
	s.m[h] = &cacheEntry{token: b, claims: claimsExpiring(t0)} // b stored under a's hash
	if got, ok := c.get(a); ok {
		t.Fatalf("get(a) with b under a's hash: got %p, true; want a miss", got)
	}
	c.put(a, claimsExpiring(t0.Add(time.Hour)), c.generation(), t0)
	if got, ok := c.get(a); !ok || !got.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("get(a) after put: got %v, %v; want a's claims", got, ok)
	}
	if got, ok := c.get(b); ok {
		t.Fatalf("get(b): got %p, true; want a miss", got)
	}
}

// The cache holds at most its size (rounded up to the shard count), and
// expired tokens are dropped before live ones.
func TestCacheBoundAndExpiry(t *testing.T) {
	const size = 160
	c := newTokenCache(size)
	live := claimsExpiring(t0.Add(time.Hour))
	for i := range 10 * size {
		c.put([]byte("live-"+strconv.Itoa(i)), live, c.generation(), t0)
		if n := c.len(); n > size {
			t.Fatalf("after %d puts: got %d entries; want at most %d", i+1, n, size)
		}
	}
	// Fill one shard with tokens that expire; later, as many live tokens
	// go to that shard: the expired entries make room, no live one is lost.
	c.clear()
	byShard := func(prefix string) [][]byte {
		var toks [][]byte
		for i := 0; len(toks) < c.perShard; i++ {
			tok := []byte(prefix + strconv.Itoa(i))
			if maphash.Bytes(c.seed, tok)%cacheShards == 0 {
				toks = append(toks, tok)
			}
		}
		return toks
	}
	dead := claimsExpiring(t0.Add(time.Minute))
	for _, tok := range byShard("dead-") {
		c.put(tok, dead, c.generation(), t0)
	}
	later := t0.Add(2 * time.Minute)
	fresh := byShard("new-")
	for _, tok := range fresh {
		c.put(tok, live, c.generation(), later)
	}
	for _, tok := range fresh {
		if _, ok := c.get(tok); !ok {
			t.Fatalf("get(%s): got a miss; want every live token kept while expired ones could go", tok)
		}
	}
	if n := len(c.shards[0].m); n != c.perShard {
		t.Fatalf("shard 0: got %d entries; want %d live ones", n, c.perShard)
	}
}

// A put of claims verified before a clear (a key rotation) is dropped.
func TestCachePutAfterClearIsDropped(t *testing.T) {
	c := newTokenCache(100)
	gen := c.generation()
	c.clear()
	c.put([]byte("tok"), claimsExpiring(t0.Add(time.Hour)), gen, t0)
	if _, ok := c.get([]byte("tok")); ok {
		t.Fatal("get after a put from an old generation: got a hit; want a miss")
	}
}

// Through the Verifier: the cache keeps CacheSize tokens at most, and a
// change of keys empties it.
func TestVerifierCacheBounded(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	clk := newClock()
	v := newVerifier(t, Options{Secret: hs.priv.([]byte), CacheSize: 32, Now: clk.Now})
	for i := range 200 {
		verifyOK(t, v, hs.sign(t, jwt.MapClaims{"sub": strconv.Itoa(i), "exp": t0.Add(time.Hour).Unix()}, nil), "distinct token")
	}
	if st := v.Stats(); st.CacheEntries > 32 || st.CacheEntries == 0 || st.Verified != 200 {
		t.Fatalf("stats %+v; want 200 verified and 1..32 cached", st)
	}
	v.installKeys(nil)
	if st := v.Stats(); st.CacheEntries != 0 {
		t.Fatalf("after a key change: got %d cached; want 0", st.CacheEntries)
	}
}
