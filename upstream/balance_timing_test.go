package upstream

import (
	"testing"
	"time"
)

// BenchmarkPick measures the balancer's choice alone over 8 targets, in
// parallel (round robin and least_conn take a mutex; hash takes none).
func BenchmarkPick(b *testing.B) {
	var targets []Target
	for i := range 8 {
		targets = append(targets, Target{URL: "http://10.0.0." + string(rune('1'+i)) + ":80", Weight: 1 + i%3})
	}
	for _, bal := range []Balance{RoundRobin, LeastConn, Hash} {
		b.Run(bal.String(), func(b *testing.B) {
			o := testOptions(targets...)
			o.Balance, o.Breaker = bal, testBreaker()
			u := newUpstream(b, o)
			bl := &u.pool.Load().bl
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				key := uint64(time.Now().UnixNano())
				for pb.Next() {
					key = mix64(key)
					var tried triedSet
					n, _ := bl.pick(time.Now().UnixNano(), true, key, &tried)
					n.inflight.Add(-1)
				}
			})
		})
	}
}
