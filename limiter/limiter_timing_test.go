package limiter

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgfast/pgfast/internal/testredis"
)

// Sink keeps the compiler from dropping the decisions benchmarks make.
var Sink atomic.Int64

// benchKeys returns n distinct client-IP-like keys.
func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = strconv.AppendInt([]byte("198.51."), int64(i), 10)
	}
	return keys
}

// benchmarkParallel measures decisions from all Ps over nKeys keys at one
// instant; each goroutine starts at its own offset in the key list.
func benchmarkParallel(b *testing.B, l Limiter, nKeys int) {
	defer l.Close()
	keys := benchKeys(nKeys)
	now := time.Now()
	for _, k := range keys {
		l.Allow(k, now)
	}
	var offset atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(offset.Add(7919))
		var n int64
		for pb.Next() {
			if l.Allow(keys[i%nKeys], now).Allowed {
				n++
			}
			i++
		}
		Sink.Add(n)
	})
}

// BenchmarkGCRA: a bucket too deep to empty, so every decision is an
// allowed one (a compare-and-swap), the common case of a healthy gateway.
func BenchmarkGCRA(b *testing.B) {
	rule := Rule{Rate: 1 << 40, Per: time.Hour, Burst: 1 << 50}
	for _, n := range []int{1, 10_000} {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			l, err := NewGCRA(Options{Rule: rule, SweepInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			benchmarkParallel(b, l, n)
		})
	}
}

// BenchmarkSlidingWindow: with 10,000 keys every decision is allowed; one
// key exhausts its 2,000,000 per window and is then mostly rejected (no
// compare-and-swap), as a client hammering one key would be.
func BenchmarkSlidingWindow(b *testing.B) {
	rule := Rule{Rate: MaxWindowLimit, Per: time.Hour}
	for _, n := range []int{1, 10_000} {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			l, err := NewSlidingWindow(Options{Rule: rule, SweepInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			benchmarkParallel(b, l, n)
		})
	}
}

// BenchmarkRedis is one decision per round trip to a local Redis, serial:
// the cost a request pays in distributed mode.
func BenchmarkRedis(b *testing.B) {
	srv := testredis.Start(b)
	for _, alg := range []Algorithm{AlgorithmGCRA, AlgorithmSlidingWindow} {
		b.Run(alg.String(), func(b *testing.B) {
			l, err := NewRedis(Options{
				Algorithm: alg,
				Rule:      Rule{Rate: 1_000_000, Per: time.Second},
				Redis:     RedisOptions{URL: srv.URL(), Timeout: time.Second},
			})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			key := []byte("198.51.100.1")
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				if l.Allow(key, time.Now()).Allowed {
					n++
				}
			}
			Sink.Add(n)
			if st := l.Stats(); st.Fallbacks != 0 {
				b.Fatalf("stats: got %+v; want every decision made in redis", st)
			}
		})
	}
}

func BenchmarkAppendHeaders(b *testing.B) {
	d := Decision{Limit: 1000, Remaining: 999, Reset: 1500 * time.Millisecond, RetryAfter: 250 * time.Millisecond}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = strconv.AppendInt(buf[:0], d.Limit, 10)
		buf = strconv.AppendInt(buf, d.Remaining, 10)
		buf = strconv.AppendInt(buf, d.ResetSeconds(), 10)
		buf = strconv.AppendInt(buf, d.RetryAfterSeconds(), 10)
	}
	Sink.Add(int64(len(buf)))
}
