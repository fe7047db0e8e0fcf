package cache

import (
	"fmt"
)

// Default values used by Options.withDefaults for zero fields.
const (
	// DefaultMaxBytes is the default memory budget of the cache: 256 MiB.
	DefaultMaxBytes = 256 << 20
	// DefaultBufferItems is the default size of ristretto's Get buffers.
	DefaultBufferItems = 64
	// DefaultCompressMinBytes is the default smallest body that gets compressed variants.
	DefaultCompressMinBytes = 1024
	// DefaultGzipLevel is the default gzip level: a body is compressed once and served
	// many times, so the middle of the range pays for itself.
	DefaultGzipLevel = 6
	// DefaultBrotliLevel is the default brotli quality: above 6 brotli gets much slower
	// for little gain on JSON, and the compression runs on the miss path.
	DefaultBrotliLevel = 5

	// expectedEntryBytes is the entry size assumed when NumCounters is derived from
	// MaxBytes.
	expectedEntryBytes = 1 << 10
)

// Options configure a Cache. The zero value works: a 256 MiB cache without
// compressed variants.
type Options struct {
	// MaxBytes is the memory budget: the sum of the bytes held by all entries (bodies,
	// compressed variants, ETags and a fixed per-entry overhead). When a new entry does
	// not fit, ristretto evicts the least frequently used ones or rejects the newcomer.
	// Default 256 MiB; raise it when the hit rate in Stats is low and evictions high.
	MaxBytes int64

	// NumCounters is the number of access-frequency counters ristretto keeps. It should
	// be about 10 times the number of entries the cache holds when full; each counter
	// costs about 3 bytes. Default: MaxBytes / 1 KiB * 10, i.e. sized for 1 KiB bodies
	// (2.6 million counters, about 8 MB, for the default budget). Lower it when bodies
	// are large, raise it when they are much smaller.
	NumCounters int64

	// BufferItems is the size of ristretto's striped Get buffers, which batch access
	// records to the admission policy. Default 64; ristretto advises raising it in steps
	// of 64 only if Get slows down under heavy contention.
	BufferItems int64

	// Compress makes NewEntry build gzip and brotli variants of bodies of at least
	// CompressMinBytes. A variant is kept only when it is smaller than the body.
	// Default false (identity bodies only).
	Compress bool

	// CompressMinBytes is the smallest body that gets compressed variants: below about
	// a kilobyte the saving does not pay for the extra memory. Default 1024.
	CompressMinBytes int

	// GzipLevel is the gzip level, 1 (fastest) to 9 (smallest). Default 6.
	GzipLevel int

	// BrotliLevel is the brotli quality, 1 (fastest) to 11 (smallest); 11 runs at a few
	// MB/s, which a large miss would feel. Default 5.
	BrotliLevel int
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.NumCounters == 0 {
		o.NumCounters = max(o.MaxBytes/expectedEntryBytes*10, 1000)
	}
	if o.BufferItems == 0 {
		o.BufferItems = DefaultBufferItems
	}
	if o.CompressMinBytes == 0 {
		o.CompressMinBytes = DefaultCompressMinBytes
	}
	if o.GzipLevel == 0 {
		o.GzipLevel = DefaultGzipLevel
	}
	if o.BrotliLevel == 0 {
		o.BrotliLevel = DefaultBrotliLevel
	}
	return o
}

// Validate reports the first field of o that holds an impossible value. Zero fields
// are valid: they select the defaults.
func (o Options) Validate() error {
	switch {
	case o.MaxBytes < 0:
		return fmt.Errorf("cache: MaxBytes must not be negative; got %d", o.MaxBytes)
	case o.NumCounters < 0:
		return fmt.Errorf("cache: NumCounters must not be negative; got %d", o.NumCounters)
	case o.BufferItems < 0:
		return fmt.Errorf("cache: BufferItems must not be negative; got %d", o.BufferItems)
	case o.CompressMinBytes < 0:
		return fmt.Errorf("cache: CompressMinBytes must not be negative; got %d", o.CompressMinBytes)
	case o.GzipLevel < 0 || o.GzipLevel > 9:
		return fmt.Errorf("cache: GzipLevel must be between 1 and 9 (0 selects %d); got %d", DefaultGzipLevel, o.GzipLevel)
	case o.BrotliLevel < 0 || o.BrotliLevel > 11:
		return fmt.Errorf("cache: BrotliLevel must be between 1 and 11 (0 selects %d); got %d", DefaultBrotliLevel, o.BrotliLevel)
	}
	return nil
}
