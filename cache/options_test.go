package cache

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	f := func(o Options, wantErr string) {
		t.Helper()
		err := o.Validate()
		if wantErr == "" {
			if err != nil {
				t.Fatalf("Validate(%+v): got %q; want no error", o, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("Validate(%+v): got %v; want an error containing %q", o, err, wantErr)
		}
		if _, err := New(o); err == nil {
			t.Fatalf("New(%+v): got no error; want one containing %q", o, wantErr)
		}
	}
	f(Options{MaxBytes: 1}, "")
	f(Options{MaxBytes: 1 << 20, GzipLevel: 9, BrotliLevel: 11, Compress: true}, "")
	f(Options{MaxBytes: 1 << 20, GzipLevel: 1, BrotliLevel: 0, Compress: true}, "")      // brotli 0 is a quality
	f(Options{MaxBytes: 1 << 20, CompressMinBytes: 0, GzipLevel: 6, Compress: true}, "") // 0 compresses every body
	f(Options{MaxBytes: 1 << 20}, "")                                                    // levels unused without Compress
	f(Options{}, "MaxBytes must be at least 1")                                          // required: no default here
	f(Options{MaxBytes: -1}, "MaxBytes")
	f(Options{MaxBytes: 1, NumCounters: -1}, "NumCounters")
	f(Options{MaxBytes: 1, MaxKeys: -1}, "MaxKeys")
	f(Options{MaxBytes: 1, BufferItems: -64}, "BufferItems")
	f(Options{MaxBytes: 1, CompressMinBytes: -1}, "CompressMinBytes")
	f(Options{MaxBytes: 1, Compress: true, BrotliLevel: 5}, "GzipLevel must be between 1 and 9") // 0 would store
	f(Options{MaxBytes: 1, GzipLevel: 10}, "GzipLevel")
	f(Options{MaxBytes: 1, GzipLevel: -1}, "GzipLevel")
	f(Options{MaxBytes: 1, BrotliLevel: 12}, "BrotliLevel")
	f(Options{MaxBytes: 1, BrotliLevel: -1}, "BrotliLevel")
}

// Only the fields the configuration never sets get a default; the others keep
// their zero, which means zero (TestNewEntryVariants shows CompressMinBytes 0 and
// BrotliLevel 0 at work).
func TestOptionsDefaults(t *testing.T) {
	o := Options{MaxBytes: 256 << 20}.withDefaults()
	want := Options{
		MaxBytes:    256 << 20,
		NumCounters: (256 << 20) / (1024 + entryOverhead) * 10,
		BufferItems: 64,
	}
	if o != want {
		t.Fatalf("withDefaults(): got %+v; want %+v", o, want)
	}
	if o := (Options{MaxBytes: 1}).withDefaults(); o.NumCounters != 1000 {
		t.Fatalf("NumCounters of a 1-byte budget: got %d; want 1000", o.NumCounters)
	}
	if o := (Options{MaxBytes: 256 << 20, MaxKeys: 3}).withDefaults(); o.NumCounters != 1000 {
		t.Fatalf("NumCounters with MaxKeys 3: got %d; want 1000", o.NumCounters)
	}
	if o := (Options{MaxBytes: 256 << 20, MaxKeys: 3, NumCounters: 77}).withDefaults(); o.NumCounters != 77 {
		t.Fatalf("NumCounters set: got %d; want 77 (MaxKeys only shapes the default)", o.NumCounters)
	}
	c, err := New(Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Stats().MaxCost; got != 1<<20 {
		t.Fatalf("MaxCost: got %d; want %d", got, 1<<20)
	}
}

// NumCounters' default is ten counters per entry the cache can hold: the fewer of
// MaxKeys and what MaxBytes holds at 1 KiB plus overhead per entry, within bounds.
func TestNumCounters(t *testing.T) {
	f := func(maxBytes, maxKeys, want int64) {
		t.Helper()
		if got := numCounters(maxBytes, maxKeys); got != want {
			t.Fatalf("numCounters(%d, %d): got %d; want %d", maxBytes, maxKeys, got, want)
		}
	}
	perEntry := int64(1024 + entryOverhead)
	f(256<<20, 0, (256<<20)/perEntry*10)     // unknown keys: the budget decides
	f(256<<20, 1<<30, (256<<20)/perEntry*10) // more keys than the budget holds
	f(256<<20, 5000, 50000)                  // a bounded route table
	f(256<<20, 2, minCounters)               // two keyless routes
	f(1, 0, minCounters)                     // a tiny budget
	f(64<<30, 0, maxCounters)                // a huge budget stays bounded
	f(1<<62, 0, maxCounters)                 // without overflowing
	f(100*perEntry, 0, 1000)                 // exactly 100 entries
	f(1000*perEntry, 0, 10000)               // exactly 1000 entries
}

// The sketch of a cache that holds few keys is small, and a cache nothing was
// stored in has none: ristretto allocates its counters all at once, used or
// not, and they count as live heap for the GC's pacing. The first Set makes
// them.
func TestNumCountersAllocation(t *testing.T) {
	allocated := func(o Options) (byNew, bySet uint64) {
		t.Helper()
		var before, created, stored runtime.MemStats
		runtime.ReadMemStats(&before)
		c, err := New(o)
		runtime.ReadMemStats(&created)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, ok := c.Get(1); ok {
			t.Fatal("got a hit in an empty cache")
		}
		runtime.ReadMemStats(&created)
		c.Set(1, c.NewEntry(1, Meta{Status: 200}, []byte("x"), time.Hour, 0))
		runtime.ReadMemStats(&stored)
		return created.TotalAlloc - before.TotalAlloc, stored.TotalAlloc - created.TotalAlloc
	}
	fullNew, fullSet := allocated(Options{MaxBytes: 256 << 20})
	fewNew, fewSet := allocated(Options{MaxBytes: 256 << 20, MaxKeys: 2})
	if fullNew > 1<<20 || fewNew > 1<<20 {
		t.Fatalf("allocated by New and a Get: got %d bytes for 256MiB and unknown keys, %d for 2 keys; want under 1 MiB", fullNew, fewNew)
	}
	if fullSet < 4<<20 || fewSet > 1<<20 {
		t.Fatalf("allocated by the first Set: got %d bytes for 256MiB and unknown keys, %d for 2 keys; want over 4 MiB and under 1 MiB", fullSet, fewSet)
	}
}
