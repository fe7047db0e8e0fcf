//go:build !race

package pool

import (
	"context"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestAcquireReleaseDoesNotAllocate(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 2})
	warm(t, p, 2)
	ctx := context.Background()
	n := testing.AllocsPerRun(1000, func() {
		c, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.Release()
	})
	if n != 0 {
		t.Fatalf("Acquire+Release: got %v allocations; want 0", n)
	}
}

func TestGateAndObserveDoNotAllocate(t *testing.T) {
	g := newGate(1)
	ctx := context.Background()
	f := func(name string, fn func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Fatalf("%s: got %v allocations; want 0", name, n)
		}
	}
	f("gate enter+leave", func() {
		if _, err := g.enter(ctx, nil, time.Second); err != nil {
			t.Fatal(err)
		}
		g.leave()
	})
	// A bounded wait that runs out reuses its timer.
	if _, err := g.enter(ctx, nil, time.Second); err != nil {
		t.Fatal(err)
	}
	short := newGate(1)
	if _, err := short.enter(ctx, nil, time.Microsecond); err != nil {
		t.Fatal(err)
	}
	f("gate wait with pooled timer", func() {
		if _, err := short.enter(ctx, nil, time.Microsecond); err != errGateTimeout {
			t.Fatal(err)
		}
	})
	g.leave()
	p := newPool(t, Options{URL: offlineURL, MaxConns: 1})
	f("Observe", func() { p.Observe(time.Millisecond) })
}
