package pool

import (
	"runtime"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestConnectionHeap bounds the heap an open, idle connection keeps, in
// both statement modes: a thousand clients wait on a few dozen
// connections, and what each holds is counted twice by the GC's heap goal.
// With pgx's caches at their default size a connection held 75-80 KB; with
// them small, 24-27 KB (pgconn's buffers, the type map).
func TestConnectionHeap(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	const conns = 20
	for _, describeOnly := range []bool{false, true} {
		before := liveHeap()
		p := newPool(t, Options{URL: dbURL, MaxConns: conns, MinConns: conns, DescribeOnly: describeOnly})
		held := make([]*Conn, conns) // every connection open and set up
		for i := range held {
			held[i] = acquire(t, p)
		}
		for _, c := range held {
			c.Release()
		}
		perConn := (liveHeap() - before) / conns
		t.Logf("describe only %v: %d bytes of heap per connection", describeOnly, perConn)
		if perConn > connHeapBudget {
			t.Errorf("describe only %v: %d bytes of heap per idle connection; want <= %d", describeOnly, perConn, connHeapBudget)
		}
		p.Close()
	}
}

const connHeapBudget = 32 << 10

func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
