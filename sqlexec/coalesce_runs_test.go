package sqlexec

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/rowcodec"
)

// TestRunsGatherWhileEnoughRunsAreUnderWay: with MaxRuns runs under way,
// a new run does not wait at the gate but gathers until one of them ends,
// then goes on with every request it gathered.
func TestRunsGatherWhileEnoughRunsAreUnderWay(t *testing.T) {
	ctx := context.Background()
	// An acquire timeout no test reaches: a queued run waits for its turn
	// and nothing else, so a turn handed to no one would hang the test.
	p, err := pool.New(ctx, pool.Options{Name: "test", URL: pgtest.NewDatabase(t, coalesceSchema), MaxConns: 3,
		AcquireTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	db := &DB{Name: "test", Pool: p, Types: rowcodec.NewTypes(), Timeout: 5 * time.Second, RunBudget: time.Hour, MaxRuns: 1}
	s, err := Compile(ctx, db, StatementOptions{Name: "item", Shape: One, Coalesce: true,
		SQL: `SELECT id, name FROM item WHERE id = $1`})
	if err != nil {
		t.Fatal(err)
	}
	warm(t, s)
	// Runs of four: a cost per request of a quarter of the budget.
	s.co.cost.Store(int64(db.RunBudget / 4))
	var held []*pool.Conn
	for range 3 {
		c, err := db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := strconv.Itoa(i + 1)
			f, err := s.Fetch(ctx, [][]byte{[]byte(id)}, nil)
			if want := `{"id":` + id + `,"name":"item ` + id + `"}`; err != nil || string(f.Body) != want {
				t.Errorf("request %s: %q, %v; want %s", id, f.Body, err, want)
			}
		}()
		// One at a time, so that each joins the newest run.
		waitFor(t, "the request to join a run", func() bool { return s.CoalesceStats().Waiting == int64(i+1) })
	}
	// Three runs of four: the first waits at the gate (its runner's
	// wait), the two others for it to end.
	if st := db.Pool.Stats(); st.GateWaiting != 1 {
		t.Errorf("%d requests wait at the gate; want only the first run's leader", st.GateWaiting)
	}
	if n := busyRunners(); n != 1 {
		t.Errorf("%d runners busy; want one, for the run at the gate (a queued run has no goroutine)", n)
	}
	for _, c := range held {
		c.Release()
	}
	wg.Wait()
	if st := s.CoalesceStats(); st.Runs != 3 || st.Members != n || st.Waiting != 0 {
		t.Errorf("coalesce stats %+v; want %d requests in 3 runs", st, n)
	}
	checkDrained(t, s)
}

// TestQueuedRunStopsWaitingForABlockedRun: the run under way is blocked
// (its statement waits for a lock), so the queued run stops waiting for
// its turn after the pool's acquire timeout and takes a free connection:
// its request is answered while the blocked one still waits.
func TestQueuedRunStopsWaitingForABlockedRun(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t, coalesceSchema)
	p, err := pool.New(ctx, pool.Options{Name: "test", URL: url, MaxConns: 2, AcquireTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	db := &DB{Name: "test", Pool: p, Types: rowcodec.NewTypes(), Timeout: 20 * time.Second, RunBudget: time.Hour, MaxRuns: 1}
	// Each request waits for a shared advisory lock on its own id.
	s, err := Compile(ctx, db, StatementOptions{Name: "locked", Shape: Value, Coalesce: true,
		SQL: `SELECT $1::int FROM pg_advisory_xact_lock_shared($1::int)`})
	if err != nil {
		t.Fatal(err)
	}
	warm(t, s)
	s.co.cost.Store(int64(db.RunBudget / 4)) // runs of four: a new run queues

	lc := lockerConn(t, url)
	if _, err := lc.PgConn().Exec(ctx, "SELECT pg_advisory_lock(1)").ReadAll(); err != nil {
		t.Fatal(err)
	}
	blocked := fetchAsync(s, "1", "1")
	waitFor(t, "the first run to block on the lock", func() bool {
		var n int
		err := lc.Conn().QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&n)
		return err == nil && n == 1
	})
	second := fetchAsync(s, "2", "2")
	waitFor(t, "the second run to queue for its turn", func() bool {
		s.co.mu.Lock()
		defer s.co.mu.Unlock()
		return len(s.co.queue) == 1
	})
	if err := <-second; err != nil {
		t.Fatalf("the queued request: %v", err)
	}
	select {
	case err := <-blocked:
		t.Fatalf("the blocked request ended (%v) before the lock was released", err)
	default:
	}
	if _, err := lc.PgConn().Exec(ctx, "SELECT pg_advisory_unlock(1)").ReadAll(); err != nil {
		t.Fatal(err)
	}
	if err := <-blocked; err != nil {
		t.Fatalf("the blocked request: %v", err)
	}
	checkDrained(t, s)
}

// TestPanickingRunReleasesEverything: a run that panics (a bug) fails its
// members with an error instead of leaving them waiting, passes its turn
// on, closes its connection, and panics again in the leader only; the
// next request runs as usual.
func TestPanickingRunReleasesEverything(t *testing.T) {
	ctx := context.Background()
	db, _ := newCoalesceDB(t, 1)
	db.MaxRuns = 1
	s := itemName(t, db)
	warm(t, s)
	hold, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runHook = func() { panic("injected") }
	defer func() { runHook = nil }()
	const n = 8
	errs := make([]error, n)
	panicked := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panicked[i] = recover() }()
			_, errs[i] = s.Fetch(ctx, [][]byte{[]byte(strconv.Itoa(i + 1))}, nil)
		}()
	}
	waitFor(t, "every request to join a run", func() bool { return s.CoalesceStats().Waiting == n })
	hold.Release()
	wg.Wait()
	runHook = nil
	leaders, failed := 0, 0
	for i := range n {
		switch {
		case panicked[i] != nil:
			if !strings.Contains(fmt.Sprint(panicked[i]), "injected") {
				t.Errorf("request %d panicked with %v; want the injected panic", i, panicked[i])
			}
			leaders++
		case errs[i] != nil && strings.Contains(errs[i].Error(), "injected"):
			failed++
		default:
			t.Errorf("request %d: got error %v, no panic; want the run's failure", i, errs[i])
		}
	}
	if leaders < 1 || leaders+failed != n {
		t.Errorf("%d leaders panicked and %d members failed; want every request to end, one panic per run", leaders, failed)
	}
	checkDrained(t, s)
	f, err := s.Fetch(ctx, [][]byte{[]byte("3")}, nil)
	if err != nil || string(f.Body) != `"item 3"` {
		t.Fatalf("the next request: %q, %v; want \"item 3\"", f.Body, err)
	}
}

// fetchAsync fetches key in the background; the channel gets nil when the
// answer is want, else what went wrong.
func fetchAsync(s *Statement, key, want string) <-chan error {
	done := make(chan error, 1)
	go func() {
		f, err := s.Fetch(context.Background(), [][]byte{[]byte(key)}, nil)
		if err == nil && string(f.Body) != want {
			err = fmt.Errorf("key %s: got %q; want %s", key, f.Body, want)
		}
		done <- err
	}()
	return done
}

// checkDrained fails t unless no run of s is under way, queued or
// waiting.
func checkDrained(t *testing.T, s *Statement) {
	t.Helper()
	s.co.mu.Lock()
	running, queued := s.co.running, len(s.co.queue)
	s.co.mu.Unlock()
	if running != 0 || queued != 0 || s.CoalesceStats().Waiting != 0 {
		t.Errorf("after the runs: %d running, %d queued, %d waiting; want none", running, queued, s.CoalesceStats().Waiting)
	}
}

// TestNoTurnWithoutAcquireTimeout: with acquire_timeout 0 nothing waits
// for a connection, so no run waits for a turn either: past the runs
// under way, a request meets the full gate and its refusal at once instead
// of queueing behind statements that may run for long.
func TestNoTurnWithoutAcquireTimeout(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t, coalesceSchema)
	p, err := pool.New(ctx, pool.Options{Name: "test", URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	db := &DB{Name: "test", Pool: p, Types: rowcodec.NewTypes(), Timeout: 5 * time.Second, RunBudget: time.Hour}
	s, err := Compile(ctx, db, StatementOptions{Name: "slow", Shape: Value, Coalesce: true,
		SQL: `SELECT $1::int FROM pg_sleep(2)`})
	if err != nil {
		t.Fatal(err)
	}
	var sleepers []<-chan error
	for _, id := range []string{"1", "2"} {
		sleepers = append(sleepers, fetchAsync(s, id, id))
	}
	waitFor(t, "both runs on a connection", func() bool {
		s.co.mu.Lock()
		defer s.co.mu.Unlock()
		return s.co.running == 2 && s.co.waiting.Load() == 0
	})
	start := time.Now()
	_, err = s.Fetch(ctx, [][]byte{[]byte("3")}, nil)
	if !pool.IsBusy(err) {
		t.Errorf("a third request with both connections busy: got %v; want the gate's refusal", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("refused after %s; want at once, not after a sleeper's turn", took)
	}
	for _, sl := range sleepers {
		if err := <-sl; err != nil {
			t.Error(err)
		}
	}
	checkDrained(t, s)
}
