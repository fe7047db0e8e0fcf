package pool

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// BenchmarkAcquireRelease measures a full Acquire/Release (gate plus
// pgxpool) under b.RunParallel, with a free slot (the common case) and with a
// gate smaller than the number of goroutines (callers wait on the timer).
// The pgxpool sub-benchmark is the baseline without the gate.
func BenchmarkAcquireRelease(b *testing.B) {
	dbURL := pgtest.NewDatabase(b)
	ctx := context.Background()
	run := func(b *testing.B, opts Options) {
		p := newPool(b, opts)
		warm(b, p, min(int(opts.MaxConns), p.gate.size()))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c, err := p.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				c.Release()
			}
		})
	}
	b.Run("gate=free", func(b *testing.B) {
		run(b, Options{URL: dbURL, MaxConns: 8})
	})
	b.Run("gate=1", func(b *testing.B) {
		run(b, Options{URL: dbURL, MaxConns: 8, MaxConcurrentQueries: 1, AcquireTimeout: 10 * time.Second})
	})
	b.Run("pgxpool", func(b *testing.B) {
		cfg, err := pgxpool.ParseConfig(dbURL)
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = 8
		pp, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer pp.Close()
		if err := pp.Ping(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c, err := pp.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				c.Release()
			}
		})
	})
}

// BenchmarkGate measures the gate alone.
func BenchmarkGate(b *testing.B) {
	f := func(name string, size int) {
		b.Run(name, func(b *testing.B) {
			g := newGate(size)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := g.enter(ctx, nil, 10*time.Second); err != nil {
						b.Error(err)
						return
					}
					g.leave()
				}
			})
		})
	}
	f("free", 64)
	f("contended", 1)
}

// BenchmarkObserve measures recording a query duration from many goroutines.
func BenchmarkObserve(b *testing.B) {
	p := newPool(b, Options{URL: offlineURL, MaxConns: 1})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := time.Millisecond
		for pb.Next() {
			p.Observe(d)
			d += time.Microsecond
		}
	})
}

// warm opens n connections (at most the gate's size) so a benchmark
// measures reuse, not connects.
func warm(tb testing.TB, p *Pool, n int) {
	tb.Helper()
	conns := make([]*Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range n {
		c, err := p.Acquire(context.Background())
		if err != nil {
			tb.Errorf("warm: %v", err)
			return
		}
		conns = append(conns, c)
	}
}

// BenchmarkQueryReset is one short query per Acquire/Release, with and
// without ResetSession, on a pool of 4 under 2×GOMAXPROCS callers: the
// reset's round trip runs after Release, so it shows as connection
// occupancy (throughput), not as the caller's latency.
func BenchmarkQueryReset(b *testing.B) {
	dbURL := pgtest.NewDatabase(b)
	ctx := context.Background()
	for _, reset := range []bool{false, true} {
		name := "reset=off"
		if reset {
			name = "reset=on"
		}
		b.Run(name, func(b *testing.B) {
			p := newPool(b, Options{URL: dbURL, MaxConns: 4, ResetSession: reset, AcquireTimeout: 10 * time.Second})
			warm(b, p, 4)
			b.ReportAllocs()
			b.SetParallelism(2)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c, err := p.Acquire(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					_, err = c.PgConn().ExecParams(ctx, "SELECT 1", nil, nil, nil, nil).Close()
					c.Release()
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
