package limiter

import (
	"fmt"
	"testing"
	"time"

	"github.com/pgfast/pgfast/internal/testredis"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: the
// janitors, the Redis probe and the clients must all stop on Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the fake clock's origin: a whole second, so also the start of a
// one-second window.
var t0 = time.Unix(1_700_000_000, 0)

// impl builds a limiter under test from options.
type impl struct {
	name string
	new  func(t *testing.T, opts Options) Limiter
}

// impls returns the two ways to run an algorithm: in process, and in a real
// Redis (started for the calling test) with the caller's clock, so that the
// same fake-clock expectations hold for both. Redis-backed limiters must
// finish without a single fallback, which proves Redis made every decision.
func impls(t *testing.T) []impl {
	srv := testredis.Start(t)
	n := 0
	return []impl{
		{"local", func(t *testing.T, opts Options) Limiter {
			t.Helper()
			opts.SweepInterval = -1 // the fake clock is far from the janitor's
			l, err := New(opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { _ = l.Close() })
			return l
		}},
		{"redis", func(t *testing.T, opts Options) Limiter {
			t.Helper()
			n++
			opts.SweepInterval = -1
			opts.Redis = RedisOptions{
				URL:         srv.URL(),
				Prefix:      fmt.Sprintf("test:%d:", n),
				Timeout:     2 * time.Second, // a loaded CI host must not trigger the fallback
				CallerClock: true,
			}
			l, err := NewRedis(opts)
			if err != nil {
				t.Fatalf("NewRedis: %v", err)
			}
			t.Cleanup(func() {
				st := l.Stats()
				if st.Fallbacks != 0 || st.RedisErrors != 0 {
					t.Errorf("redis limiter fell back: got %+v; want no fallback and no redis error", st)
				}
				if err := l.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			return l
		}},
	}
}
