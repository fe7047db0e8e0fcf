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
	f(Options{}, "")
	f(Options{MaxBytes: 1 << 20, GzipLevel: 9, BrotliLevel: 11, Compress: true}, "")
	f(Options{MaxBytes: -1}, "MaxBytes")
	f(Options{NumCounters: -1}, "NumCounters")
	f(Options{BufferItems: -64}, "BufferItems")
	f(Options{CompressMinBytes: -1}, "CompressMinBytes")
	f(Options{GzipLevel: 10}, "GzipLevel")
	f(Options{GzipLevel: -1}, "GzipLevel")
	f(Options{BrotliLevel: 12}, "BrotliLevel")
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	want := Options{
		MaxBytes:         256 << 20,
		NumCounters:      (256 << 20) / 1024 * 10,
		BufferItems:      64,
		CompressMinBytes: 1024,
		GzipLevel:        6,
		BrotliLevel:      5,
	}
	if o != want {
		t.Fatalf("Options{}.withDefaults(): got %+v; want %+v", o, want)
	}
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Stats().MaxCost; got != 256<<20 {
		t.Fatalf("MaxCost of a zero-options cache: got %d; want %d", got, 256<<20)
	}
}
