package pool

import (
	"context"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestObserveCountsAndEMA(t *testing.T) {
	p := newPool(t, Options{URL: offlineURL, MaxConns: 1, SlowQuery: 100 * time.Millisecond})
	p.Observe(80 * time.Millisecond)
	if s := p.Stats(); s.QueryEMA != 80*time.Millisecond || s.Queries != 1 || s.SlowQueries != 0 {
		t.Fatalf("got EMA=%s queries=%d slow=%d; want 80ms, 1, 0 (the first sample sets the EMA)", s.QueryEMA, s.Queries, s.SlowQueries)
	}
	p.Observe(160 * time.Millisecond) // 80 + (160-80)/8 = 90
	p.Observe(100 * time.Millisecond) // slow from SlowQuery on; 90 + 10/8 = 91.25
	p.Observe(-time.Second)           // clamped to 0: 91.25 - 91.25/8
	s := p.Stats()
	if s.Queries != 4 || s.SlowQueries != 2 {
		t.Fatalf("got queries=%d slow=%d; want 4 and 2", s.Queries, s.SlowQueries)
	}
	want := time.Duration(91250000 - 91250000/8)
	if d := s.QueryEMA - want; d < -time.Microsecond || d > time.Microsecond {
		t.Fatalf("got EMA %s; want %s", s.QueryEMA, want)
	}
	// A sustained change moves the EMA most of the way within 20 samples.
	for range 20 {
		p.Observe(time.Second)
	}
	if s := p.Stats(); s.QueryEMA < 900*time.Millisecond || s.QueryEMA > time.Second {
		t.Fatalf("got EMA %s after 20 samples of 1s; want between 900ms and 1s", s.QueryEMA)
	}
}

func TestSlowQueryOff(t *testing.T) {
	p := newPool(t, Options{URL: offlineURL, MaxConns: 1}) // SlowQuery 0: off
	p.Observe(time.Hour)
	if s := p.Stats(); s.SlowQueries != 0 || s.Queries != 1 {
		t.Fatalf("got slow=%d queries=%d; want 0 and 1", s.SlowQueries, s.Queries)
	}
}

func TestBusyRetryAfterFollowsLoad(t *testing.T) {
	// The gate alone decides here: a pool that never connects is enough.
	p := newPool(t, Options{URL: offlineURL, MaxConns: 2, AcquireTimeout: 50 * time.Millisecond})
	for range 2 {
		if _, err := p.gate.enter(context.Background(), nil, p.opts.AcquireTimeout); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want time.Duration) {
		t.Helper()
		_, err := p.Acquire(context.Background())
		if !IsBusy(err) {
			t.Fatalf("got %v; want a BusyError", err)
		}
		if got := RetryAfter(err); got != want {
			t.Fatalf("RetryAfter: got %s (EMA %s, waiting %d); want %s", got, p.Stats().QueryEMA, p.gate.waiting.Load(), want)
		}
	}
	check(time.Second) // no query observed yet
	p.Observe(3 * time.Second)
	check(2 * time.Second) // ceil(1 * 3s / 2)
	p.gate.waiting.Add(3)  // three more callers queued behind
	check(6 * time.Second) // ceil(4 * 3s / 2)
	p.gate.waiting.Add(-3)
	if s := p.Stats(); s.GateRejected != 3 || s.GateSize != 2 {
		t.Fatalf("got rejected=%d size=%d; want 3 and 2", s.GateRejected, s.GateSize)
	}
}

func TestStatsFromARealPool(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), Name: "main", MaxConns: 3})
	const n = 10
	for range n {
		c := acquire(t, p)
		c.Release()
	}
	s := p.Stats()
	if s.Name != "main" || s.MaxConns != 3 || s.GateSize != 3 {
		t.Fatalf("got Name=%q MaxConns=%d GateSize=%d; want main, 3, 3", s.Name, s.MaxConns, s.GateSize)
	}
	if s.AcquireCount != n || s.InUse != 0 || s.Idle != 1 || s.Total != 1 || s.NewConns != 1 {
		t.Fatalf("got AcquireCount=%d InUse=%d Idle=%d Total=%d NewConns=%d; want %d, 0, 1, 1, 1",
			s.AcquireCount, s.InUse, s.Idle, s.Total, s.NewConns, n)
	}
	// Only the first acquire had to wait (for the connection to open).
	if s.EmptyAcquireCount != 1 || s.AcquireWait <= 0 {
		t.Fatalf("got EmptyAcquireCount=%d AcquireWait=%s; want 1 and > 0", s.EmptyAcquireCount, s.AcquireWait)
	}
	a, b := acquire(t, p), acquire(t, p)
	s = p.Stats()
	if s.InUse != 2 || s.Idle != 0 || s.Total != 2 {
		t.Fatalf("holding two: got InUse=%d Idle=%d Total=%d; want 2, 0, 2", s.InUse, s.Idle, s.Total)
	}
	a.Release()
	b.Release()
	if s := p.Stats(); s.InUse != 0 || s.Idle != 2 || s.AcquireCount != n+2 {
		t.Fatalf("after release: got InUse=%d Idle=%d AcquireCount=%d; want 0, 2, %d", s.InUse, s.Idle, s.AcquireCount, n+2)
	}
}

func TestResetReplacesConnections(t *testing.T) {
	p := newPool(t, Options{URL: pgtest.NewDatabase(t), MaxConns: 1})
	c := acquire(t, p)
	before := c.PgConn().PID()
	c.Release()
	p.Reset()
	c = acquire(t, p)
	defer c.Release()
	if c.PgConn().PID() == before {
		t.Fatalf("got backend %d again after Reset; want a new connection", before)
	}
	if s := p.Stats(); s.NewConns != 2 {
		t.Fatalf("got NewConns=%d; want 2", s.NewConns)
	}
}
