package sqlexec

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// onRunner reports whether the calling goroutine is a runner.
func onRunner() bool {
	buf := make([]byte, 16<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "sqlexec.(*runner).loop")
}

// busyRunners counts the runners conducting a run (or about to).
func busyRunners() int64 {
	idleRunners.Lock()
	defer idleRunners.Unlock()
	return runnersLive.Load() - int64(len(idleRunners.list))
}

// TestGatheringRunsRunOnRunners: a run that may gather is conducted by a
// runner, never by its leader's request goroutine; a run of one (cost not
// known yet, or slower than the budget) is conducted by its own
// request's.
func TestGatheringRunsRunOnRunners(t *testing.T) {
	ctx := context.Background()
	db, _ := newCoalesceDB(t, 1)
	s := itemName(t, db)
	var mu sync.Mutex
	var where []bool
	runHook = func() {
		on := onRunner()
		mu.Lock()
		where = append(where, on)
		mu.Unlock()
	}
	defer func() { runHook = nil }()

	warm(t, s)
	if len(where) != 1 || where[0] {
		t.Fatalf("where the first execution (cost unknown) ran, on a runner or not: %v; want [false]", where)
	}
	where = nil
	hold, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	var answers []<-chan error
	for i := range n {
		id := strconv.Itoa(i + 1)
		answers = append(answers, fetchAsync(s, id, `"item `+id+`"`))
	}
	waitFor(t, "every request to join the run", func() bool { return s.CoalesceStats().Waiting == n })
	hold.Release()
	for _, a := range answers {
		if err := <-a; err != nil {
			t.Error(err)
		}
	}
	if len(where) != 1 || !where[0] {
		t.Errorf("runs conducted on a runner: %v; want one run, on a runner", where)
	}

	where = nil
	s.co.cost.Store(int64(2 * db.RunBudget)) // slower than the budget: runs of one
	if _, err := s.Fetch(ctx, [][]byte{[]byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	if len(where) != 1 || where[0] {
		t.Errorf("a slow statement's run of one conducted on a runner: %v; want [false]", where)
	}
}

// TestIdleRunnersEnd: a runner with no run to conduct for runnerIdle ends,
// so a burst's runners do not keep their goroutines and stacks.
func TestIdleRunnersEnd(t *testing.T) {
	defer runnerIdle.Store(runnerIdle.Swap(int64(20 * time.Millisecond)))
	ctx := context.Background()
	db, _ := newCoalesceDB(t, 4)
	s := itemName(t, db)
	warm(t, s)
	var onRunners atomic.Int64
	runHook = func() {
		if onRunner() {
			onRunners.Add(1)
		}
	}
	defer func() { runHook = nil }()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Fetch(ctx, [][]byte{[]byte(strconv.Itoa(i%1000 + 1))}, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if onRunners.Load() == 0 {
		t.Fatal("no run of 200 concurrent requests was conducted by a runner")
	}
	waitFor(t, "the idle runners to end", func() bool { return runnersLive.Load() == 0 })
	if _, err := s.Fetch(ctx, [][]byte{[]byte("5")}, nil); err != nil {
		t.Fatalf("a request after the runners ended: %v", err)
	}
}
