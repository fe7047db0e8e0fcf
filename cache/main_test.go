package cache

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testMaxBytes is the budget of test caches that set none (Options.MaxBytes has no
// default): small, since the 2.6 million frequency counters of the configuration's
// 256 MiB take long to build under the race detector.
const testMaxBytes = 16 << 20

// testOptions are the options of test caches that need nothing special.
var testOptions = Options{MaxBytes: testMaxBytes}

// newTestCache returns a cache that is closed when the test ends. A zero MaxBytes
// means testMaxBytes.
func newTestCache(t testing.TB, opts Options) *Cache {
	t.Helper()
	if opts.MaxBytes == 0 {
		opts.MaxBytes = testMaxBytes
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("cannot create cache: %s", err)
	}
	t.Cleanup(c.Close)
	return c
}

// mustStore stores an entry of route with body under key and waits until it is
// visible.
func mustStore(t testing.TB, c *Cache, key uint64, route uint32, body string, ttl, grace time.Duration) *Entry {
	t.Helper()
	e := c.NewEntry(route, Meta{Status: 200}, []byte(body), ttl, grace)
	if !c.Set(key, e) {
		t.Fatalf("Set(%d, %q) was dropped", key, body)
	}
	c.Wait()
	return e
}

// keyOf returns the key of route with one parameter value.
func keyOf(route uint32, param string) uint64 {
	var h Hasher
	h.Reset(route)
	h.WriteString(param)
	return h.Sum()
}
