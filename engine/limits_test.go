package engine

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/internal/testredis"
)

const limitedRoutes = `
routes:
  - name: probe
    path: /probe/{id}
    sql: SELECT customer_id, nextval('probe') AS run FROM customer WHERE customer_id = $1
    params: [path.id]
    rate_limit: {rate: 3/min, burst: 3}
  - name: open
    path: /open/{id}
    sql: SELECT customer_id FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 60s
  - name: private
    path: /private/{id}
    sql: SELECT customer_id FROM customer WHERE customer_id = $1
    params: [path.id]
    auth: token
    cache: 60s
accounts:
  - {id: limited, api_token: tok_limited, rate_limit: 2/min, allowed_operations: [SELECT]}
`

func TestRouteAndAccountRateLimits(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, routeSchema)
	ts := startServer(t, parseConfig(t, limitedRoutes+"limits: {default: 1000/s, trusted_proxies: [127.0.0.1]}\n"), dbURL)
	for i := 1; i <= 3; i++ {
		r := get(t, ts.url+"/probe/1")
		r.expect(t, 200)
		if got, want := r.header.Get("RateLimit-Remaining"), strconv.Itoa(3-i); got != want || r.header.Get("RateLimit-Limit") != "3" {
			t.Fatalf("request %d: got RateLimit-Limit %q Remaining %q; want 3, %s", i, r.header.Get("RateLimit-Limit"), got, want)
		}
	}
	r := get(t, ts.url+"/probe/1")
	r.expect(t, 429, `"code":"rate_limited"`)
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
		t.Fatalf("got Retry-After %q; want about 20 (one request per 20s)", r.header.Get("Retry-After"))
	}
	if reset, err := strconv.Atoi(r.header.Get("RateLimit-Reset")); err != nil || reset < 1 {
		t.Fatalf("got RateLimit-Reset %q; want a positive integer", r.header.Get("RateLimit-Reset"))
	}
	// The rejection cost no database work: the probe sequence ran 3 times.
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var runs int
	conn.QueryRow(context.Background(), "SELECT last_value FROM probe").Scan(&runs)
	if runs != 3 {
		t.Fatalf("the sequence ran %d times; want 3", runs)
	}
	// Behind a trusted proxy, X-Forwarded-For names the client: another
	// client has its own budget; a spoofed left-most entry changes nothing.
	get(t, ts.url+"/probe/1", "X-Forwarded-For", "203.0.113.7").expect(t, 200)
	get(t, ts.url+"/probe/1", "X-Forwarded-For", "198.51.100.1, 203.0.113.8").expect(t, 200)

	// Accounts have their own budget on the raw API.
	q := func() response {
		return do(t, "POST", ts.url+"/v1/query", `{"query":"SELECT 1 AS x"}`, "Authorization", "Bearer tok_limited")
	}
	q().expect(t, 200)
	get(t, ts.url+"/v1/account", "Authorization", "Bearer tok_limited").expect(t, 200, `"rate_limit":{"limit":2,"remaining":0`)
	q().expect(t, 429, `"code":"rate_limited"`)

	// auth: token routes want an account's token.
	get(t, ts.url+"/private/1").expect(t, 401)
	get(t, ts.url+"/private/1", "Authorization", "Bearer nope").expect(t, 401)
	get(t, ts.url+"/private/1", "Authorization", "Bearer tok_limited").expect(t, 200)
	get(t, ts.admin+"/metrics").expect(t, 200, `pgfast_ratelimit_rejected_total{scope="route:probe"} 1`)
}

func TestUntrustedPeerCannotPickItsKey(t *testing.T) {
	ts := startServer(t, parseConfig(t, limitedRoutes), pgtest.NewDatabase(t, routeSchema))
	for i := 0; i < 3; i++ {
		get(t, ts.url+"/probe/1", "X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i)).expect(t, 200)
	}
	get(t, ts.url+"/probe/1", "X-Forwarded-For", "192.0.2.99").expect(t, 429)
}

// TestInstancesShareOneBudgetThroughRedis runs two pgfast instances on one
// Redis: together they admit the route's budget, not twice it. Then Redis
// dies: requests keep flowing on local limiters; it comes back: the
// instances return to it by themselves.
func TestInstancesShareOneBudgetThroughRedis(t *testing.T) {
	rs := testredis.Start(t)
	dbURL := pgtest.NewDatabase(t, routeSchema)
	cfg := func() string {
		return fmt.Sprintf(`
routes:
  - name: shared
    path: /shared/{id}
    sql: SELECT customer_id FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 60s
    rate_limit: {rate: 200/min, burst: 200}
limits: {redis_url: %q, redis_timeout: 2s} # a loaded CI host must not trip the fallback
`, rs.URL())
	}
	a := startServer(t, parseConfig(t, cfg()), dbURL)
	b := startServer(t, parseConfig(t, cfg()), dbURL)
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for _, ts := range []*testServer{a, b} {
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					switch r := get(t, ts.url+"/shared/1"); r.status {
					case 200:
						ok.Add(1)
					case 429:
						limited.Add(1)
					default:
						t.Errorf("got %d %s", r.status, clip(r.body))
					}
				}
			}()
		}
	}
	wg.Wait()
	// 800 requests against a budget of 200 (plus the trickle refilled
	// during the run, 200/min).
	t.Logf("two instances admitted %d of 800 requests (budget 200, %d refused)", ok.Load(), limited.Load())
	if got := ok.Load(); got < 190 || got > 215 {
		t.Fatalf("two instances admitted %d of 800; want one shared budget of about 200 (±5%%)", got)
	}

	rs.Stop()
	for i := 0; i < 20; i++ {
		r := get(t, a.url+"/shared/1")
		if r.status != 200 && r.status != 429 {
			t.Fatalf("with Redis down: got %d %s; want the local limiter to decide", r.status, clip(r.body))
		}
	}
	get(t, a.admin+"/metrics").expect(t, 200, `pgfast_ratelimit_redis_fallback{scope="route:shared"} 1`)
	rs.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		get(t, a.url+"/shared/1")
		if r := get(t, a.admin+"/metrics"); contains(r.body, `pgfast_ratelimit_redis_fallback{scope="route:shared"} 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the limiter did not return to Redis within 10s of its restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
