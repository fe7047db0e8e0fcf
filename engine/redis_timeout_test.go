package engine

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg"
	"github.com/pgfast/pgfast/internal/testredis"
)

// freezingProxy forwards TCP to a real Redis until freeze; from then on it
// behaves like a Redis stopped with SIGSTOP: connections are accepted (the
// kernel still completes the handshake) and bytes go in, but nothing ever
// comes back. Closed when the test ends.
type freezingProxy struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func startFreezingProxy(t testing.TB, target string) *freezingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezingProxy{ln: ln, target: target, stop: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is the redis:// URL of the proxy.
func (p *freezingProxy) URL() string { return "redis://" + p.ln.Addr().String() + "/0" }

func (p *freezingProxy) freeze() { p.frozen.Store(true) }

func (p *freezingProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stop:
		c.Close()
		return false
	default:
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *freezingProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		if p.frozen.Load() {
			// Accepted, never answered.
			p.wg.Add(1)
			go p.pipe(io.Discard, c)
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(up) {
			return
		}
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst until either fails; once frozen it forwards
// nothing more and holds the connection open until the proxy closes.
func (p *freezingProxy) pipe(dst io.Writer, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if p.frozen.Load() {
				<-p.stop
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *freezingProxy) close() {
	p.mu.Lock()
	select {
	case <-p.stop:
		p.mu.Unlock()
		return
	default:
	}
	close(p.stop)
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestFrozenRedisCostsAboutRedisTimeout freezes the Redis behind a rate
// limited route: every request must still be answered, by the local
// fallback, after about limits.redis_timeout, not after go-redis's own
// multi-second defaults.
func TestFrozenRedisCostsAboutRedisTimeout(t *testing.T) {
	const redisTimeout = 50 * time.Millisecond
	rs := testredis.Start(t)
	px := startFreezingProxy(t, rs.Addr())
	ts := startServer(t, parseConfig(t, fmt.Sprintf(`
routes:
  - name: frozen
    path: /frozen/{id}
    sql: SELECT customer_id FROM customer WHERE customer_id = $1
    params: [path.id]
    cache: 60s
    rate_limit: {rate: 100000/s, burst: 100000}
limits: {redis_url: %q, redis_timeout: %s}
`, px.URL(), redisTimeout)), embedpg.NewDatabase(t, routeSchema))
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

	px.freeze()
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
