package sqlclass

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

// TestCacheBounded: many more distinct texts than slots leave at most one
// entry per slot, and the heap does not grow with the number of texts.
func TestCacheBounded(t *testing.T) {
	classCache.reset()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	fill := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := Classify(fmt.Sprintf("SELECT %d, 'padding to make an entry weigh something' FROM t WHERE id = %d", i, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill(0, 2*cacheSlots)
	before := heap()
	fill(2*cacheSlots, 8*cacheSlots)
	after := heap()
	used := 0
	for i := range classCache.slots {
		if classCache.slots[i].Load() != nil {
			used++
		}
	}
	if used > cacheSlots {
		t.Fatalf("%d entries in %d slots", used, cacheSlots)
	}
	// Six times the slot count of further texts must not add six times
	// the cache: allow 1 MiB of noise.
	if after > before+1<<20 {
		t.Fatalf("heap grew from %d to %d bytes over %d more texts", before, after, 6*cacheSlots)
	}
	t.Logf("%d of %d slots used; heap %d -> %d bytes", used, cacheSlots, before, after)
}

// TestCacheSkipsLongText: text past maxCachedText is classified, not kept.
func TestCacheSkipsLongText(t *testing.T) {
	long := "SELECT 1 /*" + fmt.Sprintf("%0*d", maxCachedText, 0) + "*/"
	a, err := Classify(long)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Classify(long)
	if a == b {
		t.Fatal("a text longer than maxCachedText was cached")
	}
}

// TestCacheCopiesKey: the caller's string may alias a buffer it reuses; the
// cache must not see the buffer change under its key.
func TestCacheCopiesKey(t *testing.T) {
	classCache.reset()
	buf := []byte("SELECT 1 FROM t WHERE id = 12345678")
	sql := unsafe.String(&buf[0], len(buf))
	st, err := Classify(sql)
	if err != nil || st.Ops.String() != "SELECT" {
		t.Fatalf("got %+v, %v", st, err)
	}
	copy(buf, "DELETE   FROM t WHERE id = 12345678")
	e := classCache.load(hashText("SELECT 1 FROM t WHERE id = 12345678"))
	if e == nil || e.sql != "SELECT 1 FROM t WHERE id = 12345678" {
		t.Fatalf("cache key changed with the caller's buffer: %+v", e)
	}
	st, err = Classify(string(buf))
	if err != nil || st.Ops.String() != "DELETE" {
		t.Fatalf("after the buffer changed: got %+v, %v", st, err)
	}
}

// TestClassifyConcurrent: goroutines classify overlapping texts (hits,
// misses and collisions at once) and always get the right answer. Run it
// with -race.
func TestClassifyConcurrent(t *testing.T) {
	classCache.reset()
	texts := []struct{ sql, ops string }{
		{"SELECT 1", "SELECT"},
		{"DELETE FROM t", "DELETE"},
		{"WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d", "SELECT,DELETE"},
		{"INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 1", "INSERT,UPDATE"},
		{"SET work_mem = '1MB'", "OTHER"},
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				c := texts[(g+i)%len(texts)]
				sql := c.sql
				if i%3 == 0 {
					sql = fmt.Sprintf("%s -- %d", c.sql, i%300) // misses and slot collisions
				}
				st, err := Classify(sql)
				if err != nil || st.Ops.String() != c.ops {
					t.Errorf("%q: got %v, %v; want %s", sql, st, err, c.ops)
					return
				}
				h, _ := Fingerprint(sql)
				if h == unparsable {
					t.Errorf("%q: unparsable", sql)
					return
				}
			}
		}()
	}
	wg.Wait()
}
