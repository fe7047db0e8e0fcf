package sqlexec

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestCancelerStopsTheStatement: a Canceler called from another goroutine
// cancels the running statement on the server, and the execution's later
// steps (a retried statement) fail with ErrStopped.
func TestCancelerStopsTheStatement(t *testing.T) {
	db := newDB(t, "")
	x, err := db.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stop := x.Canceler()
	timer := time.AfterFunc(100*time.Millisecond, stop)
	defer timer.Stop()
	start := time.Now()
	err = x.Query("SELECT pg_sleep(10)", nil, Encoding{Shape: Set})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Errorf("got %v; want the statement cancelled (57014)", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the cancel took %s", took)
	}
	if err := x.checkStopped(); !errors.Is(err, ErrStopped) {
		t.Errorf("after the stop: got %v; want ErrStopped", err)
	}
	x.Release(err)
}

// TestLateCancelerDoesNotStopTheNextExecution: the stopper of an execution
// that ended is pooled and serves the next one; the old execution's
// Canceler, called late (as a disconnect watcher may), must stop nothing.
// Under -race it also checks the late calls against the reuse.
func TestLateCancelerDoesNotStopTheNextExecution(t *testing.T) {
	db := newDB(t, "")
	ctx := context.Background()
	run := func(sql string) (*Rows, func()) {
		t.Helper()
		x, err := db.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stop := x.Canceler()
		if err := x.Query(sql, nil, Encoding{Shape: Set}); err != nil {
			x.Release(err)
			t.Fatal(err)
		}
		return x, stop
	}
	reused := 0
	for range 20 {
		old, lateStop := run("SELECT 1")
		oldStopper := old.stop
		if _, _, err := old.Fill(nil, 0); err != nil {
			t.Fatal(err)
		}
		old.Release(nil)
		lateStop() // after Release: nothing to stop

		x, err := db.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		x.Canceler()
		if x.stop == oldStopper {
			reused++
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for range 50 {
				lateStop()
			}
		})
		err = x.Query("SELECT pg_sleep(0.02), 'done'", nil, Encoding{Shape: Set})
		var body []byte
		if err == nil {
			body, _, err = x.Fill(nil, 0)
		}
		wg.Wait()
		if err == nil {
			err = x.checkStopped()
		}
		x.Release(err)
		if err != nil {
			t.Fatalf("a late stop of an ended execution reached the next one: %v (%s)", err, body)
		}
	}
	if reused == 0 {
		t.Skip("the pool never handed the same stopper out again: nothing was tested")
	}
}
