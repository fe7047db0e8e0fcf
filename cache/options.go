package cache

import (
	"fmt"
)

// Defaults used by Options.withDefaults for zero fields the configuration has no key
// for (see Options).
const (
	// DefaultBufferItems is the default size of ristretto's Get buffers.
	DefaultBufferItems = 64

	// expectedEntryBytes is the cost assumed per entry when NumCounters is derived from
	// MaxBytes: a 1 KiB body plus the overhead Cost charges every entry, so that the
	// estimate counts the entries MaxBytes really holds.
	expectedEntryBytes = 1<<10 + entryOverhead

	// countersPerKey is ristretto's advice: about 10 counters per entry the cache
	// holds when full.
	countersPerKey = 10

	// minCounters and maxCounters bound the derived NumCounters. The floor costs
	// about 4 KB and keeps TinyLFU's sample (it halves its counters every
	// NumCounters increments) from resetting at every few requests. The ceiling,
	// 16M counters, is about 64 MB of sketch and doorkeeper: it covers 1.6M
	// entries at ten counters each, which a 2 GiB budget of 1 KiB bodies holds;
	// a larger cache shares counters more, so admission gets less accurate, but
	// no lookup or Set fails.
	minCounters = 1000
	maxCounters = 1 << 24
)

// Options configure a Cache. MaxBytes is required; every other field's zero value
// works and means what its doc says: the smallest working Options is a cache of
// MaxBytes without compressed variants.
//
// Defaults live in one place. The configuration's defaults (config.Default,
// documented in the config reference: cache.max_bytes 256MiB, server.compression
// min_bytes 1024, gzip_level 6, brotli_level 5) are the user-facing contract, and the
// engine passes them through unchanged, so this package sets no default of its own
// for a field the configuration sets: a zero here means zero, never "the default".
// The exceptions are the fields the configuration has no key for (NumCounters,
// MaxKeys, BufferItems).
type Options struct {
	// MaxBytes is the memory budget: the sum of the bytes held by all entries (bodies,
	// compressed variants, ETags and a fixed per-entry overhead). When a new entry does
	// not fit, ristretto evicts the least frequently used ones or rejects the newcomer.
	// Required (at least 1): it has no default here, as the configuration always sets
	// it (cache.max_bytes, default 256 MiB), and ristretto cannot run without a budget.
	// Raise it when the hit rate in Stats is low and evictions high.
	MaxBytes int64

	// NumCounters is the number of access-frequency counters ristretto keeps. It should
	// be about 10 times the number of entries the cache holds when full; each counter
	// costs about 3 bytes, allocated by the first Set (so a cache nothing is ever stored
	// in costs none), all at once however few entries follow (ristretto rounds the
	// count-min sketch up to a power of two). Default: 10 times
	// the smaller of MaxKeys (when set) and MaxBytes / (1 KiB + the per-entry
	// overhead), between 1000 and 16M: 2 million counters, about 8 MB, for a
	// 256 MiB budget, and 1000 (about 4 KB) when the callers know of only a few keys.
	// Set it only to override that estimate: lower when bodies are large, higher
	// when they are much smaller.
	NumCounters int64

	// MaxKeys is the most distinct keys the callers can ever store, when they know it
	// (the engine counts it from the route table: one key per cached route whose key
	// takes no request value), so that NumCounters is sized for what the cache can
	// actually hold, not for a MaxBytes it will never fill. 0 means unknown: the
	// budget alone decides. More keys than MaxKeys still work; they share counters,
	// which makes admission less accurate.
	MaxKeys int64

	// BufferItems is the size of ristretto's striped Get buffers, which batch access
	// records to the admission policy. Default 64; ristretto advises raising it in steps
	// of 64 only if Get slows down under heavy contention. It is not sized from the
	// keys: a stripe is 8 bytes per item, one per P in a sync.Pool, so 64 costs a
	// few KB however large the cache.
	BufferItems int64

	// Compress makes NewEntry build gzip and brotli variants of bodies of at least
	// CompressMinBytes. A variant is kept only when it is smaller than the body.
	// Default false (identity bodies only); the levels below are then ignored.
	Compress bool

	// CompressMinBytes is the smallest body that gets compressed variants. 0 compresses
	// every body (a variant that does not come out smaller is still dropped). Below
	// about a kilobyte the saving rarely pays for the extra memory and the time on the
	// miss path, hence the configuration's min_bytes default of 1024.
	CompressMinBytes int

	// GzipLevel is the gzip level, 1 (fastest) to 9 (smallest); required with Compress.
	// It has no default here (server.compression.gzip_level, default 6, always sets it),
	// and 0 is refused rather than passed on: to klauspost/compress it means
	// NoCompression (stored blocks), which is never smaller than the body, so every
	// gzip variant would be built and then dropped.
	GzipLevel int

	// BrotliLevel is the brotli quality, 0 (fastest; andybalholm/brotli's BestSpeed) to
	// 11 (smallest); 11 runs at a few MB/s, which a large miss would feel. 0 is a real
	// quality and is passed on as such; the configuration's brotli_level defaults to 5.
	BrotliLevel int
}

// withDefaults returns a copy of o with every zero field that has a default (those
// the configuration does not set) set to it.
func (o Options) withDefaults() Options {
	if o.NumCounters == 0 {
		o.NumCounters = numCounters(o.MaxBytes, o.MaxKeys)
	}
	if o.BufferItems == 0 {
		o.BufferItems = DefaultBufferItems
	}
	return o
}

// numCounters is NumCounters' default: ten counters per entry the cache can hold
// when full, which is maxBytes / expectedEntryBytes entries or, when the caller knows
// fewer keys exist (maxKeys > 0), maxKeys; bounded to [minCounters, maxCounters].
func numCounters(maxBytes, maxKeys int64) int64 {
	keys := maxBytes / expectedEntryBytes
	if maxKeys > 0 {
		keys = min(keys, maxKeys)
	}
	// Bound keys before multiplying: a huge MaxBytes must not overflow.
	keys = min(keys, maxCounters/countersPerKey+1)
	return min(max(keys*countersPerKey, minCounters), maxCounters)
}

// Validate reports the first field of o that holds an impossible value: a MaxBytes
// below 1, a negative count, a level out of range, or (with Compress) a GzipLevel of 0.
func (o Options) Validate() error {
	switch {
	case o.MaxBytes <= 0:
		return fmt.Errorf("cache: MaxBytes must be at least 1 (the configuration's cache.max_bytes defaults to 256MiB); got %d", o.MaxBytes)
	case o.NumCounters < 0:
		return fmt.Errorf("cache: NumCounters must not be negative; got %d", o.NumCounters)
	case o.MaxKeys < 0:
		return fmt.Errorf("cache: MaxKeys must not be negative (0 means unknown); got %d", o.MaxKeys)
	case o.BufferItems < 0:
		return fmt.Errorf("cache: BufferItems must not be negative; got %d", o.BufferItems)
	case o.CompressMinBytes < 0:
		return fmt.Errorf("cache: CompressMinBytes must not be negative; got %d", o.CompressMinBytes)
	case o.GzipLevel < 0 || o.GzipLevel > 9 || (o.Compress && o.GzipLevel == 0):
		return fmt.Errorf("cache: GzipLevel must be between 1 and 9 with Compress (0 would store, not compress); got %d", o.GzipLevel)
	case o.BrotliLevel < 0 || o.BrotliLevel > 11:
		return fmt.Errorf("cache: BrotliLevel must be between 0 and 11; got %d", o.BrotliLevel)
	}
	return nil
}
