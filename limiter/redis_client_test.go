package limiter

import (
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pgfast/pgfast/internal/testredis"
)

func TestNewRedisClientTimeouts(t *testing.T) {
	f := func(timeout, want time.Duration) {
		t.Helper()
		c, err := NewRedisClient("redis://127.0.0.1:1/0", timeout)
		if err != nil {
			t.Fatalf("NewRedisClient(%s): %v", timeout, err)
		}
		defer c.Close()
		o := c.Options()
		for name, got := range map[string]time.Duration{"DialTimeout": o.DialTimeout, "ReadTimeout": o.ReadTimeout,
			"WriteTimeout": o.WriteTimeout, "PoolTimeout": o.PoolTimeout} {
			if got != want {
				t.Fatalf("NewRedisClient(%s): %s = %s; want %s", timeout, name, got, want)
			}
		}
		// go-redis stores MaxRetries -1 (no retry) as 0.
		if !o.ContextTimeoutEnabled || o.MaxRetries > 0 {
			t.Fatalf("NewRedisClient(%s): ContextTimeoutEnabled %v, MaxRetries %d; want true, no retry", timeout, o.ContextTimeoutEnabled, o.MaxRetries)
		}
	}
	f(50*time.Millisecond, 50*time.Millisecond)
	f(2*time.Second, 2*time.Second)
	for _, timeout := range []time.Duration{0, -time.Second} {
		if _, err := NewRedisClient("redis://127.0.0.1:1/", timeout); !errors.Is(err, ErrInvalidOptions) {
			t.Fatalf("NewRedisClient(timeout %s): got %v; want ErrInvalidOptions", timeout, err)
		}
	}
	if _, err := NewRedisClient("http://127.0.0.1/", time.Second); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("NewRedisClient(http URL): got %v; want ErrInvalidOptions", err)
	}
}

// TestRedisFrozenCostsAboutTimeout freezes Redis under limiters sharing a
// client from NewRedisClient, as the engine does: decisions in flight and
// after all fall back within a small multiple of Timeout, and so does a
// limiter created while Redis is frozen.
func TestRedisFrozenCostsAboutTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	srv := testredis.Start(t)
	px := testredis.StartFreezable(t, srv.Addr())
	client, err := NewRedisClient(px.URL(), timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	opts := func(prefix string) Options {
		return Options{
			Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil)),
			Redis:  RedisOptions{Client: client, Prefix: prefix, Timeout: timeout, ProbeInterval: 50 * time.Millisecond},
		}
	}
	a, b := newRedisLimiter(t, opts("a:")), newRedisLimiter(t, opts("b:"))
	// Redis up: decisions are made there (on a loaded host one may take
	// longer than Timeout and fall back until the next probe).
	for _, l := range []*Redis{a, b} {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if d := l.Allow([]byte("k"), time.Now()); d.Allowed && !l.Stats().FallbackActive {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no decision made in redis within 10s: %+v", l.Stats())
			}
		}
	}

	px.Freeze()
	var mu sync.Mutex
	var took []time.Duration
	allow := func(l *Redis) {
		began := time.Now()
		d := l.Allow([]byte("k"), time.Now())
		el := time.Since(began)
		if !d.Allowed {
			t.Errorf("Allow with redis frozen: got %+v; want allowed by the fallback", d)
		}
		mu.Lock()
		took = append(took, el)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() { allow([]*Redis{a, b}[i%2]) })
	}
	wg.Wait()
	for i := range 8 {
		allow([]*Redis{a, b}[i%2])
	}
	began := time.Now()
	c := newRedisLimiter(t, opts("c:"))
	started := time.Since(began)
	allow(c)

	slices.Sort(took)
	median, worst := took[len(took)/2], took[len(took)-1]
	t.Logf("timeout %s, redis frozen: %d decisions, median %s (%.1f×), max %s (%.1f×); NewRedis took %s (%.1f×)",
		timeout, len(took), median, float64(median)/float64(timeout), worst, float64(worst)/float64(timeout),
		started, float64(started)/float64(timeout))
	if r := float64(worst) / float64(timeout); r >= 20 {
		t.Fatalf("slowest decision with redis frozen: got %s, %.1f× Timeout; want < 20×", worst, r)
	}
	if r := float64(started) / float64(timeout); r >= 20 {
		t.Fatalf("NewRedis with redis frozen: took %s, %.1f× Timeout; want < 20×", started, r)
	}
	for _, l := range []*Redis{a, b, c} {
		if st := l.Stats(); !st.FallbackActive || st.Outages < 1 || st.RedisErrors < 1 {
			t.Fatalf("stats with redis frozen: got %+v; want fallback active after an outage", st)
		}
	}
}
