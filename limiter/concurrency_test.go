package limiter

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hammer runs workers goroutines that each make n requests for key at the
// fixed instant now, and returns how many were allowed.
func hammer(l Limiter, key []byte, now time.Time, workers, n int) int64 {
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range n {
				if l.Allow(key, now).Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return allowed.Load()
}

func TestConcurrentOneKeyAdmitsExactlyTheBurst(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name+"/gcra", func(t *testing.T) {
			l := im.new(t, Options{Rule: Rule{Rate: 100, Per: time.Second, Burst: 300}})
			workers, n := 8, 100
			if im.name == "local" {
				n = 5000
			}
			if got := hammer(l, []byte("hot"), t0, workers, n); got != 300 {
				t.Fatalf("allowed: got %d; want exactly the burst, 300", got)
			}
			st := l.Stats()
			if st.Allowed != 300 || st.Rejected != uint64(workers*n-300) {
				t.Fatalf("stats: got allowed=%d rejected=%d; want 300 and %d", st.Allowed, st.Rejected, workers*n-300)
			}
		})
		t.Run(im.name+"/sliding_window", func(t *testing.T) {
			l := im.new(t, Options{Algorithm: AlgorithmSlidingWindow, Rule: Rule{Rate: 300, Per: time.Second}})
			workers, n := 8, 100
			if im.name == "local" {
				n = 5000
			}
			if got := hammer(l, []byte("hot"), t0.Add(250*ms), workers, n); got != 300 {
				t.Fatalf("allowed: got %d; want exactly the limit, 300", got)
			}
		})
	}
}

func TestConcurrentSweepLosesNoDecision(t *testing.T) {
	// Decisions race with a sweeper that removes every idle entry it sees
	// (fresh, never-updated ones included). Each key has a burst of one at
	// a frozen instant, so a decision applied to a removed entry and lost
	// would let a key through twice.
	const keys = 2000
	for _, alg := range []Algorithm{AlgorithmGCRA, AlgorithmSlidingWindow} {
		t.Run(alg.String(), func(t *testing.T) {
			l, err := newLocal(Options{Algorithm: alg, Rule: Rule{Rate: 1, Per: time.Minute, Burst: 1}, SweepInterval: -1})
			if err != nil {
				t.Fatalf("newLocal: %v", err)
			}
			defer l.Close()
			sweep := l.(interface{ Sweep(time.Time) int }).Sweep
			stop := make(chan struct{})
			var sweeps sync.WaitGroup
			sweeps.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						sweep(t0)
					}
				}
			})
			var allowed atomic.Int64
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					buf := make([]byte, 0, 16)
					for i := range keys {
						k := (i*7 + w*keys/4) % keys // each worker in its own order
						buf = strconv.AppendInt(buf[:0], int64(k), 10)
						for range 3 {
							if l.Allow(buf, t0).Allowed {
								allowed.Add(1)
							}
						}
					}
				})
			}
			wg.Wait()
			close(stop)
			sweeps.Wait()
			if got := allowed.Load(); got != keys {
				t.Fatalf("allowed: got %d; want one per key, %d", got, keys)
			}
			if got := l.Stats().Keys; got != keys {
				t.Fatalf("keys after sweeping at t0: got %d; want %d (none is idle)", got, keys)
			}
		})
	}
}
