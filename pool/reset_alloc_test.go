//go:build !race

package pool

import (
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestResetDoesNotAllocate: a reset that finds nothing to deallocate (the
// common case) allocates nothing, though it runs after every request of
// an account pool.
func TestResetDoesNotAllocate(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 1, ResetSession: true})
	c := acquire(t, p)
	defer c.Release()
	conn := c.Conn()
	for range 3 { // warm: the read buffer and the parameter map
		if !p.resetSession(conn) {
			t.Fatal("reset failed")
		}
	}
	if n := testing.AllocsPerRun(200, func() {
		if !p.resetSession(conn) {
			t.Fatal("reset failed")
		}
	}); n != 0 {
		t.Errorf("resetSession: got %v allocations; want 0", n)
	}
}
