package cache

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/ristretto/v2"
)

// Sink keeps benchmark results alive so that the compiler cannot drop the work.
var Sink atomic.Uint64

// benchKeys stores n entries of about 1 KiB and returns their keys.
func benchKeys(b *testing.B, c *Cache, n int) []uint64 {
	b.Helper()
	body := make([]byte, 1024)
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = keyOf(1, strconv.Itoa(i))
		c.Set(keys[i], c.NewEntry(1, Meta{Status: 200}, body, time.Hour, 0))
	}
	c.Wait()
	for _, k := range keys {
		if _, ok := c.Get(k); !ok {
			b.Fatalf("key %x was not stored", k)
		}
	}
	return keys
}

func BenchmarkGetHit(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			c := newTestCache(b, Options{})
			keys := benchKeys(b, c, n)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var sum uint64
				for i := 0; pb.Next(); i++ {
					e, _ := c.Get(keys[i%len(keys)])
					sum += uint64(len(e.Body))
				}
				Sink.Add(sum)
			})
		})
	}
	b.Run("GetAt/keys=1000", func(b *testing.B) {
		c := newTestCache(b, Options{})
		keys := benchKeys(b, c, 1000)
		now := time.Now()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var sum uint64
			for i := 0; pb.Next(); i++ {
				e, _ := c.GetAt(keys[i%len(keys)], now)
				sum += uint64(len(e.Body))
			}
			Sink.Add(sum)
		})
	})
	// Baseline: ristretto alone, without freshness, purge marks and the Close gate.
	b.Run("baseline=ristretto/keys=1000", func(b *testing.B) {
		rc, err := ristretto.NewCache(&ristretto.Config[uint64, *Entry]{
			NumCounters: 1e6, MaxCost: 1 << 28, BufferItems: 64, Metrics: true,
			KeyToHash: func(k uint64) (uint64, uint64) { return k, 0 },
		})
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		keys := make([]uint64, 1000)
		for i := range keys {
			keys[i] = keyOf(1, strconv.Itoa(i))
			rc.SetWithTTL(keys[i], &Entry{Body: make([]byte, 1024)}, 1100, time.Hour)
		}
		rc.Wait()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var sum uint64
			for i := 0; pb.Next(); i++ {
				e, _ := rc.Get(keys[i%len(keys)])
				sum += uint64(len(e.Body))
			}
			Sink.Add(sum)
		})
	})
}

func BenchmarkHasher(b *testing.B) {
	id, tenant := []byte("1234567"), "tenant-42"
	b.Run("Hasher", func(b *testing.B) {
		b.ReportAllocs()
		var h Hasher
		var sum uint64
		for b.Loop() {
			h.Reset(3)
			h.Write(id)
			h.WriteString(tenant)
			h.WriteUint64(10)
			sum += h.Sum()
		}
		Sink.Add(sum)
	})
	// Baseline: building a string key, as a map[string] cache would.
	b.Run("baseline=string-key", func(b *testing.B) {
		b.ReportAllocs()
		var sum uint64
		for b.Loop() {
			k := "3\x00" + string(id) + "\x00" + tenant + "\x00" + strconv.Itoa(10)
			sum += xxhash.Sum64String(k)
		}
		Sink.Add(sum)
	})
}

func BenchmarkDoHit(b *testing.B) {
	c := newTestCache(b, Options{})
	keys := benchKeys(b, c, 1000)
	fill := func(ctx context.Context) (*Entry, error) {
		b.Fatal("fill ran on a hit")
		return nil, nil
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var sum uint64
		for i := 0; pb.Next(); i++ {
			e, _, _ := c.Do(ctx, keys[i%len(keys)], fill)
			sum += uint64(len(e.Body))
		}
		Sink.Add(sum)
	})
}

// BenchmarkDoMiss measures the miss path: Set, Wait and the in-flight table,
// with a fill that costs nothing.
func BenchmarkDoMiss(b *testing.B) {
	c := newTestCache(b, Options{})
	body := make([]byte, 1024)
	fill := func(ctx context.Context) (*Entry, error) {
		return c.NewEntry(1, Meta{Status: 200}, body, time.Hour, 0), nil
	}
	ctx := context.Background()
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := next.Add(1) * 0x9e3779b97f4a7c15
			if _, _, err := c.Do(ctx, k, fill); err != nil {
				b.Fatal(err)
			}
		}
	})
}
