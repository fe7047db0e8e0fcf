package engine

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/internal/testredis"
)

// TestFrozenRedisCostsAboutRedisTimeout freezes the Redis behind a rate
// limited route: every request must still be answered, by the local
// fallback, after about limits.redis_timeout, not after go-redis's own
// multi-second defaults.
func TestFrozenRedisCostsAboutRedisTimeout(t *testing.T) {
	const redisTimeout = 50 * time.Millisecond
	rs := testredis.Start(t)
	px := testredis.StartFreezable(t, rs.Addr())
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
routes:
  - name: frozen
    path: /frozen/{id}
    sql: SELECT customer_id FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 60s
    rate_limit: {rate: 100000/s, burst: 100000}
limits: {redis_url: %q, redis_timeout: %s}
`, px.URL(), redisTimeout)), pgtest.NewDatabase(t, routeSchema))
	// Redis up: decisions are made there (on a loaded host one may take
	// longer than redis_timeout and fall back until the next probe).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		get(t, ts.url+"/frozen/1").expect(t, 200)
		if contains(get(t, ts.admin+"/metrics").body, `pgfast_ratelimit_redis_fallback{scope="route:frozen"} 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the limiter did not decide in Redis within 10s")
		}
	}

	px.Freeze()
	// Concurrent requests all reach the limiter before any of them has
	// switched it to the fallback: each waits for Redis. Then a few more,
	// one at a time, as traffic goes on.
	const concurrent, serial = 16, 8
	var mu sync.Mutex
	var took []time.Duration
	measure := func() {
		began := time.Now()
		r := get(t, ts.url+"/frozen/1")
		d := time.Since(began)
		if r.status != 200 {
			t.Errorf("with Redis frozen: got %d %s; want 200 from the local limiter", r.status, clip(r.body))
		}
		mu.Lock()
		took = append(took, d)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for range concurrent {
		wg.Go(measure)
	}
	wg.Wait()
	for range serial {
		measure()
	}
	slices.Sort(took)
	median, worst := took[len(took)/2], took[len(took)-1]
	ratio := float64(median) / float64(redisTimeout)
	t.Logf("redis_timeout %s, Redis frozen: %d requests, median %s (%.1f× redis_timeout), max %s (%.1f×)",
		redisTimeout, len(took), median, ratio, worst, float64(worst)/float64(redisTimeout))
	if ratio >= 20 {
		t.Fatalf("median request latency with Redis frozen: got %s, %.1f× redis_timeout; want < 20× (%s)", median, ratio, 20*redisTimeout)
	}
	m := get(t, ts.admin+"/metrics")
	m.expect(t, 200, `pgfast_ratelimit_redis_fallback{scope="route:frozen"} 1`)
	if !strings.Contains(m.body, `pgfast_ratelimit_fallback_decisions_total{scope="route:frozen"}`) {
		t.Fatalf("metrics: no fallback decision counter for route:frozen")
	}
}
