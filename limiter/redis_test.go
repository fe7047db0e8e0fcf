package limiter

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgfast/pgfast/internal/testredis"
	"github.com/redis/go-redis/v9"
)

// newRedisLimiter builds a Redis limiter owning its own client (built from
// the URL) and closes it when the test ends.
func newRedisLimiter(t *testing.T, opts Options) *Redis {
	t.Helper()
	l, err := NewRedis(opts)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

// adminClient is a separate client for looking into the test's Redis.
func adminClient(t *testing.T, srv *testredis.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// logBuffer collects log lines from concurrent goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), substr)
}

func TestRedisTwoInstancesShareOneBudget(t *testing.T) {
	srv := testredis.Start(t)
	// Two pgfast instances: two limiters, each with its own go-redis client,
	// against one Redis. Time is the caller's and advances in 1 ms steps,
	// so the outcome depends on the algorithms, not on how fast this
	// machine happens to be (a wall-clock version failed under load).
	for _, alg := range []Algorithm{AlgorithmGCRA, AlgorithmSlidingWindow} {
		t.Run(alg.String(), func(t *testing.T) {
			rule := Rule{Rate: 200, Per: time.Second, Burst: 100}
			opts := Options{
				Algorithm: alg,
				Rule:      rule,
				Redis:     RedisOptions{URL: srv.URL(), Prefix: "shared:" + alg.String() + ":", Timeout: 2 * time.Second, CallerClock: true},
			}
			a, b := newRedisLimiter(t, opts), newRedisLimiter(t, opts)
			var perInstance [2]int64
			key := []byte("account-42")
			// Start 250 ms into a window, so the sliding window's partial
			// first window is part of the test.
			const offset = 250 * time.Millisecond
			start := time.Unix(1_700_000_000, 0).Add(offset)
			const elapsed = 1500 * time.Millisecond
			for step := time.Duration(0); step < elapsed; step += time.Millisecond {
				now := start.Add(step)
				// Demand far above the rate: 8 attempts per ms against 0.2.
				for i := 0; i < 8; i++ {
					l := a
					if i%2 == 1 {
						l = b
					}
					if l.Allow(key, now).Allowed {
						perInstance[i%2]++
					}
				}
			}
			total := perInstance[0] + perInstance[1]
			// GCRA: the burst, then Rate per Per. Sliding window: Rate for the
			// window the test started in (whole, though the test began into
			// it), then Rate per Per pro rata: Rate × (offset + elapsed) / Per.
			var want float64
			if alg == AlgorithmGCRA {
				want = float64(rule.Burst) + float64(rule.Rate)*elapsed.Seconds()
			} else {
				want = float64(rule.Rate) * float64(offset+elapsed) / float64(rule.Per)
			}
			t.Logf("%s: admitted %d (a %d, b %d) over %s; budget %.0f", alg, total, perInstance[0], perInstance[1], elapsed, want)
			if diff := float64(total) - want; diff > 0.05*want || diff < -0.05*want {
				t.Fatalf("admitted across both instances: got %d; want %.0f ± 5%%", total, want)
			}
			if perInstance[0] == 0 || perInstance[1] == 0 {
				t.Fatalf("admitted per instance: got %d and %d; want both to take part", perInstance[0], perInstance[1])
			}
			for _, l := range []*Redis{a, b} {
				if st := l.Stats(); st.Fallbacks != 0 || st.RedisErrors != 0 {
					t.Fatalf("stats: got %+v; want every decision made in redis", st)
				}
			}
		})
	}
}

func TestRedisTwoInstancesExactBurst(t *testing.T) {
	srv := testredis.Start(t)
	// At one frozen instant two instances together admit exactly the burst.
	opts := Options{
		Rule:  Rule{Rate: 10, Per: time.Second, Burst: 250},
		Redis: RedisOptions{URL: srv.URL(), Timeout: 2 * time.Second, CallerClock: true},
	}
	a, b := newRedisLimiter(t, opts), newRedisLimiter(t, opts)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for _, l := range []*Redis{a, b, a, b} {
		wg.Go(func() { allowed.Add(hammer(l, []byte("k"), t0, 1, 100)) })
	}
	wg.Wait()
	if got := allowed.Load(); got != 250 {
		t.Fatalf("allowed across both instances: got %d; want exactly the burst, 250", got)
	}
}

func TestRedisOutageFallsBackAndRecovers(t *testing.T) {
	srv := testredis.Start(t)
	logs := &logBuffer{}
	l := newRedisLimiter(t, Options{
		// A 10s refill keeps each key in Redis for the test's duration.
		Rule:   Rule{Rate: 1, Per: 10 * time.Second, Burst: 1000},
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Redis: RedisOptions{
			URL:           srv.URL(),
			Prefix:        "outage:",
			Timeout:       500 * time.Millisecond,
			ProbeInterval: 50 * time.Millisecond,
		},
	})
	admin := adminClient(t, srv)
	ctx := context.Background()

	if d := l.Allow([]byte("before"), time.Now()); !d.Allowed {
		t.Fatalf("Allow with redis up: got %+v; want allowed", d)
	}
	if st := l.Stats(); st.FallbackActive || st.Fallbacks != 0 {
		t.Fatalf("stats with redis up: got %+v; want no fallback", st)
	}
	if n := admin.Exists(ctx, "outage:before").Val(); n != 1 {
		t.Fatalf("EXISTS outage:before: got %d; want 1 (decided in redis)", n)
	}

	// Redis dies mid-traffic: decisions keep flowing from the local limiter,
	// with the rule still enforced there.
	srv.Stop()
	for i := range 300 {
		d := l.Allow([]byte("during"), time.Now())
		if !d.Allowed || d.Limit != 1000 {
			t.Fatalf("Allow #%d with redis down: got %+v; want allowed by the fallback", i, d)
		}
	}
	st := l.Stats()
	if !st.FallbackActive || st.Fallbacks < 300 || st.RedisErrors < 1 || st.Outages != 1 {
		t.Fatalf("stats with redis down: got %+v; want fallback active, >= 300 fallbacks, >= 1 redis error, 1 outage", st)
	}
	if st.Keys != 1 {
		t.Fatalf("fallback keys: got %d; want 1", st.Keys)
	}
	// Probes fail while it stays down; nothing more is logged.
	time.Sleep(200 * time.Millisecond)
	if !l.Stats().FallbackActive {
		t.Fatalf("fallback ended while redis is still down")
	}

	// Redis comes back (empty: no data, no scripts): the limiter returns to
	// it by itself.
	srv.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().FallbackActive {
		if time.Now().After(deadline) {
			t.Fatalf("still on the fallback 5s after redis restarted: %+v", l.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	errorsBefore := l.Stats().RedisErrors
	if d := l.Allow([]byte("after"), time.Now()); !d.Allowed {
		t.Fatalf("Allow after recovery: got %+v; want allowed", d)
	}
	if n := admin.Exists(ctx, "outage:after").Val(); n != 1 {
		t.Fatalf("EXISTS outage:after: got %d; want 1 (decided in redis again)", n)
	}
	if st := l.Stats(); st.RedisErrors != errorsBefore || st.FallbackActive || st.Outages != 1 {
		t.Fatalf("stats after recovery: got %+v; want no new error, no fallback, 1 outage", st)
	}
	// One line per transition, however many decisions failed.
	if w, i := logs.count("level=WARN"), logs.count("redis available again"); w != 1 || i != 1 {
		t.Fatalf("log lines: got %d warnings and %d recoveries; want 1 and 1:\n%s", w, i, logs.b.String())
	}
}

func TestRedisDownAtStart(t *testing.T) {
	srv := testredis.Start(t)
	srv.Stop()
	l := newRedisLimiter(t, Options{
		Rule:   Rule{Rate: 5, Per: time.Second},
		Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil)),
		Redis:  RedisOptions{URL: srv.URL(), ProbeInterval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond},
	})
	// The fallback enforces the same rule.
	for i := range 5 {
		if d := l.Allow([]byte("k"), t0); !d.Allowed {
			t.Fatalf("Allow #%d: got %+v; want allowed", i, d)
		}
	}
	if d := l.Allow([]byte("k"), t0); d.Allowed || d.RetryAfter != 200*ms {
		t.Fatalf("Allow #6: got %+v; want rejected, retry after 200ms", d)
	}
	if st := l.Stats(); !st.FallbackActive || st.Outages != 1 {
		t.Fatalf("stats: got %+v; want fallback active after 1 outage", st)
	}
	srv.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().FallbackActive {
		if time.Now().After(deadline) {
			t.Fatalf("still on the fallback 5s after redis started")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisSlowFallsBackWithinTimeout(t *testing.T) {
	srv := testredis.Start(t)
	l := newRedisLimiter(t, Options{
		Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil)),
		Redis:  RedisOptions{URL: srv.URL(), Timeout: 20 * time.Millisecond, ProbeInterval: 50 * time.Millisecond},
	})
	if d := l.Allow([]byte("k"), time.Now()); !d.Allowed || l.Stats().FallbackActive {
		t.Fatalf("Allow with redis up: got %+v, %+v; want allowed in redis", d, l.Stats())
	}
	// A script busy for 400ms blocks the whole server, as a slow Redis would.
	admin := adminClient(t, srv)
	busy := make(chan error, 1)
	go func() {
		busy <- admin.Eval(context.Background(), `
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  t = redis.call('TIME')
until t[1] * 1000000 + t[2] - start > 400000
return 1`, nil).Err()
	}()
	time.Sleep(50 * time.Millisecond)
	began := time.Now()
	d := l.Allow([]byte("k"), time.Now())
	took := time.Since(began)
	if !d.Allowed || took > 200*time.Millisecond {
		t.Fatalf("Allow with redis busy: got %+v after %s; want allowed by the fallback within about 20ms", d, took)
	}
	if st := l.Stats(); !st.FallbackActive || st.RedisErrors != 1 {
		t.Fatalf("stats with redis busy: got %+v; want fallback active after 1 error", st)
	}
	if err := <-busy; err != nil {
		t.Fatalf("busy script: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.Stats().FallbackActive {
		if time.Now().After(deadline) {
			t.Fatalf("still on the fallback 5s after redis answered again")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisReloadsFlushedScript(t *testing.T) {
	srv := testredis.Start(t)
	l := newRedisLimiter(t, Options{Redis: RedisOptions{URL: srv.URL(), Timeout: 2 * time.Second}})
	l.Allow([]byte("k"), time.Now())
	if err := adminClient(t, srv).ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatalf("SCRIPT FLUSH: %v", err)
	}
	// EVALSHA now answers NOSCRIPT: the limiter loads the script and
	// retries within the same decision.
	if d := l.Allow([]byte("k"), time.Now()); !d.Allowed {
		t.Fatalf("Allow after SCRIPT FLUSH: got %+v; want allowed", d)
	}
	if st := l.Stats(); st.RedisErrors != 0 || st.Fallbacks != 0 {
		t.Fatalf("stats: got %+v; want no error and no fallback", st)
	}
}

func TestRedisKeysExpire(t *testing.T) {
	srv := testredis.Start(t)
	admin := adminClient(t, srv)
	ctx := context.Background()
	f := func(alg Algorithm, rule Rule, maxTTL time.Duration) {
		t.Helper()
		prefix := "ttl:" + alg.String() + ":"
		l := newRedisLimiter(t, Options{Algorithm: alg, Rule: rule, Redis: RedisOptions{URL: srv.URL(), Prefix: prefix, Timeout: 2 * time.Second}})
		l.Allow([]byte("k"), time.Now())
		ttl := admin.PTTL(ctx, prefix+"k").Val()
		if ttl <= 0 || ttl > maxTTL {
			t.Fatalf("%s: PTTL: got %s; want in (0, %s]", alg, ttl, maxTTL)
		}
		time.Sleep(maxTTL + 50*ms)
		if n := admin.Exists(ctx, prefix+"k").Val(); n != 0 {
			t.Fatalf("%s: EXISTS after the TTL: got %d; want 0", alg, n)
		}
	}
	// GCRA: gone when the bucket is full again (one interval of 100ms).
	f(AlgorithmGCRA, Rule{Rate: 10, Per: time.Second, Burst: 3}, 100*ms)
	// Sliding window: gone when the next window ends.
	f(AlgorithmSlidingWindow, Rule{Rate: 10, Per: 100 * ms}, 200*ms)
}

func TestRedisClientGivenIsNotClosed(t *testing.T) {
	srv := testredis.Start(t)
	c := adminClient(t, srv)
	l, err := New(Options{Redis: RedisOptions{Client: c, Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, ok := l.(*Redis); !ok {
		t.Fatalf("New with Redis.Client: got %T; want *Redis", l)
	}
	if d := l.Allow([]byte("k"), time.Now()); !d.Allowed {
		t.Fatalf("Allow: got %+v; want allowed", d)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING on the caller's client after Close: got %v; want nil", err)
	}
	// After Close decisions are still answered, locally.
	if d := l.Allow([]byte("k2"), time.Now()); !d.Allowed {
		t.Fatalf("Allow after Close: got %+v; want allowed", d)
	}
}
