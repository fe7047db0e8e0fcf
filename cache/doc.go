// Package cache stores the finished response bodies of declared routes.
//
// An Entry holds the identity body of one response, its gzip and brotli variants
// (compressed once, when the entry is made, so that a hit never compresses), a strong
// ETag and the times that decide whether it is fresh or stale. Entries live in a
// ristretto cache (TinyLFU admission, sampled LFU eviction) whose cost is the bytes
// they hold, keyed by a uint64 that a Hasher computes from the route index and the
// request's parameter values without allocating. The package knows nothing of HTTP,
// SQL or routes beyond their index.
//
// # Freshness and stale reads
//
// ristretto drops an item once its TTL has passed, which would make stale_if_error
// and stale_while_revalidate impossible. An entry is therefore handed to ristretto
// with a TTL of ttl + grace, and the cache checks freshness itself: Get returns only
// entries whose ExpiresAt is still ahead, GetStale also returns those whose
// StaleUntil (ExpiresAt + grace) is still ahead.
//
// # Invalidation
//
// ristretto cannot enumerate its keys, so a purge does not delete anything. Every
// purge takes the next value of one monotonic counter and records it for its route
// (PurgeRoute) or for all routes (PurgeAll); every entry carries the counter's value
// read before the data it holds was read. A lookup that finds an entry whose value is
// below the mark of its route or the global mark treats it as absent. A purge is
// thus O(1), and once PurgeRoute returns no entry of that route made from data read
// before the call is ever served again, even by a lookup racing the purge or by a
// fill that was already running when the purge came. Purged entries keep their
// memory until a new fill overwrites them, their TTL passes or eviction takes them;
// MaxBytes bounds that memory as it bounds everything else. ristretto's Clear is not
// used: it stops the policy goroutine, resets the metrics behind Stats, and is not
// safe alongside concurrent Get and Set calls.
//
// MarkStale and MarkAllStale work the same way with a second mark per route (and a
// global one): an entry below it is treated as expired instead of absent. Get and Do
// miss it, so the next request refills it, but GetStale still returns it within its
// stale grace. That is for data that may be out of date without being known to be:
// when the invalidation listener was deaf for a while, the database may be down too,
// and the last good body is then worth more than an error.
//
// # Coalescing
//
// Do runs at most one fill per key at a time; callers that miss while a fill is in
// flight wait for its result instead of querying again (a small uint64-keyed
// singleflight: golang.org/x/sync/singleflight takes string keys, which would cost
// a conversion per miss). Refresh starts the same kind of fill in the background for
// stale_while_revalidate.
package cache
