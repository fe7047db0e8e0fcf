package cache

import (
	"strings"
	"testing"
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
		NumCounters: (256 << 20) / 1024 * 10,
		BufferItems: 64,
	}
	if o != want {
		t.Fatalf("withDefaults(): got %+v; want %+v", o, want)
	}
	if o := (Options{MaxBytes: 1}).withDefaults(); o.NumCounters != 1000 {
		t.Fatalf("NumCounters of a 1-byte budget: got %d; want 1000", o.NumCounters)
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
