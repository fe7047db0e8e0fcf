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

	"github.com/pgfast/pgfast/pool"
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

// TestRunsRunOnRunners: every run is conducted by a runner, never by its
// leader's request goroutine: a run that may gather, and the runs of one of
// a statement whose cost is not known yet or that is slower than the
// budget.
func TestRunsRunOnRunners(t *testing.T) {
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
	if len(where) != 1 || !where[0] {
		t.Fatalf("where the first execution (cost unknown) ran, on a runner or not: %v; want [true]", where)
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
	if len(where) != 1 || !where[0] {
		t.Errorf("a slow statement's run of one conducted on a runner: %v; want [true]", where)
	}
}

// TestFirstBurstRunsOnAsManyRunnersAsSlots: while a statement's cost is
// not known, a burst of requests runs one request per run, as many runs at
// once as the gate has slots, each conducted by a runner; the rest queue
// with no goroutine of their own, and every request is answered.
func TestFirstBurstRunsOnAsManyRunnersAsSlots(t *testing.T) {
	const slots, n = 2, 30
	db, _ := newCoalesceDB(t, slots)
	s := itemName(t, db)
	var onRequest atomic.Int64
	runHook = func() {
		if !onRunner() {
			onRequest.Add(1)
		}
	}
	defer func() { runHook = nil }()
	held := holdConns(t, db, slots)
	answers := fetchItems(s, n)
	waitFor(t, "every request to wait in a run", func() bool { return s.CoalesceStats().Waiting == n })
	if st := db.Pool.Stats(); st.GateWaiting != slots {
		t.Errorf("%d runs wait at the gate; want %d, one per slot", st.GateWaiting, slots)
	}
	if got := busyRunners(); got != slots {
		t.Errorf("%d runners busy; want %d (a queued run has no goroutine)", got, slots)
	}
	for _, c := range held {
		c.Release()
	}
	for _, a := range answers {
		if err := <-a; err != nil {
			t.Error(err)
		}
	}
	if got := onRequest.Load(); got != 0 {
		t.Errorf("%d runs conducted by a request's goroutine; want 0", got)
	}
	if st := s.CoalesceStats(); st.Runs != 0 {
		t.Errorf("%d runs of several while the cost was unknown; want 0", st.Runs)
	}
	checkDrained(t, s)
}

// TestRunsUnderWayComeBackDownToMaxRuns: the runs of one of a first burst
// may have as many runs under way as the gate has slots; once the cost is
// known and runs of several fit, the runs that end stop handing on their
// turn until DB.MaxRuns are under way, and the queue drains through that
// many.
func TestRunsUnderWayComeBackDownToMaxRuns(t *testing.T) {
	const slots, n = 4, 20
	db, _ := newCoalesceDB(t, slots)
	db.MaxRuns = 1
	s := itemName(t, db)
	var mu sync.Mutex
	var underWay []int // s.co.running as each run is answered
	runHook = func() {
		s.co.mu.Lock()
		r := s.co.running
		s.co.mu.Unlock()
		mu.Lock()
		underWay = append(underWay, r)
		mu.Unlock()
	}
	defer func() { runHook = nil }()
	held := holdConns(t, db, slots)
	answers := fetchItems(s, n)
	waitFor(t, "every request to wait in a run", func() bool { return s.CoalesceStats().Waiting == n })
	s.co.cost.Store(int64(time.Microsecond)) // known, and runs of several fit the budget
	for _, c := range held {
		c.Release()
	}
	for _, a := range answers {
		if err := <-a; err != nil {
			t.Error(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(underWay) != n {
		t.Fatalf("%d runs answered; want %d runs of one", len(underWay), n)
	}
	for i, r := range underWay[slots:] {
		if r != db.MaxRuns {
			t.Fatalf("run %d answered with %d runs under way; want %d once the burst's first runs ended (all: %v)", slots+i+1, r, db.MaxRuns, underWay)
		}
	}
	checkDrained(t, s)
}

// holdConns takes n connections of db's pool, for the test to release.
func holdConns(t *testing.T, db *DB, n int) []*pool.Conn {
	t.Helper()
	held := make([]*pool.Conn, n)
	for i := range held {
		c, err := db.Pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held[i] = c
	}
	return held
}

// fetchItems sends a request for each of items 1 to n at once.
func fetchItems(s *Statement, n int) []<-chan error {
	answers := make([]<-chan error, n)
	for i := range answers {
		id := strconv.Itoa(i + 1)
		answers[i] = fetchAsync(s, id, `"item `+id+`"`)
	}
	return answers
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
