package cache

import (
	"fmt"
)

// Defaults used by Options.withDefaults for zero fields the configuration has no key
// for (see Options).
const (
	// DefaultBufferItems is the default size of ristretto's Get buffers.
	DefaultBufferItems = 64

	// expectedEntryBytes is the entry size assumed when NumCounters is derived from
	// MaxBytes.
	expectedEntryBytes = 1 << 10
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
// BufferItems).
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
	// costs about 3 bytes. Default: MaxBytes / 1 KiB * 10 (at least 1000), i.e. sized
	// for 1 KiB bodies (2.6 million counters, about 8 MB, for a 256 MiB budget). Lower
	// it when bodies are large, raise it when they are much smaller.
	NumCounters int64

	// BufferItems is the size of ristretto's striped Get buffers, which batch access
	// records to the admission policy. Default 64; ristretto advises raising it in steps
	// of 64 only if Get slows down under heavy contention.
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
		o.NumCounters = max(o.MaxBytes/expectedEntryBytes*10, 1000)
	}
	if o.BufferItems == 0 {
		o.BufferItems = DefaultBufferItems
	}
	return o
}

// Validate reports the first field of o that holds an impossible value: a MaxBytes
// below 1, a negative count, a level out of range, or (with Compress) a GzipLevel of 0.
func (o Options) Validate() error {
	switch {
	case o.MaxBytes <= 0:
		return fmt.Errorf("cache: MaxBytes must be at least 1 (the configuration's cache.max_bytes defaults to 256MiB); got %d", o.MaxBytes)
	case o.NumCounters < 0:
		return fmt.Errorf("cache: NumCounters must not be negative; got %d", o.NumCounters)
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
