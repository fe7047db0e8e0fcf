package sqlexec

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Runners. Waiting at the pool's gate and then driving pgx and the row
// encoder takes a goroutine more than 4 KiB of stack, so a request
// goroutine that conducted a run once would keep an 8 KiB stack from then
// on (the runtime shrinks a stack only while three quarters of it are
// unused, which a parked request never leaves). A request parked on a run
// needs less than 4 KiB. Conducting every run of a coalescing statement on
// a few runner goroutines keeps each request goroutine at the stack its
// parked state needs: some 5 MB fewer at 1000 connections under load
// (README, Memory). A queued run has no goroutine: the runner of the run
// that hands it its turn conducts it next, so there are at most as many
// busy runners as runs under way (see lead).

// runJob is one run for a runner to conduct.
type runJob struct {
	s *Statement
	r *run
}

// runner is one runner goroutine's mailbox.
type runner struct {
	// jobs has room for one: dispatch hands a job to a runner it took off
	// the idle list, which may not be receiving yet.
	jobs chan runJob
}

var (
	// idleRunners are the runners waiting for a run, the most recent
	// last: dispatch takes the most recent, so under steady load the
	// same few keep working and the rest run out their idle time.
	idleRunners struct {
		sync.Mutex
		list []*runner
	}
	// runnersLive counts the runner goroutines, for tests.
	runnersLive atomic.Int64
	// runnerIdle is how long a runner waits for its next run before it
	// ends, in nanoseconds: long enough to outlast the gaps of steady
	// load, short enough that a burst's runners do not keep their stacks
	// for long. Atomic for tests, which shorten it.
	runnerIdle atomic.Int64
)

func init() { runnerIdle.Store(int64(2 * time.Second)) }

// dispatch hands r to an idle runner, or to a new one when none waits.
func dispatch(s *Statement, r *run) {
	idleRunners.Lock()
	if n := len(idleRunners.list); n > 0 {
		w := idleRunners.list[n-1]
		idleRunners.list[n-1] = nil
		idleRunners.list = idleRunners.list[:n-1]
		idleRunners.Unlock()
		w.jobs <- runJob{s, r}
		return
	}
	idleRunners.Unlock()
	runnersLive.Add(1)
	w := &runner{jobs: make(chan runJob, 1)}
	go w.loop(runJob{s, r})
}

// loop conducts j and the runs whose turn it hands on, then every run
// handed to w until w has waited runnerIdle for one.
func (w *runner) loop(j runJob) {
	defer runnersLive.Add(-1)
	idle := time.NewTimer(time.Duration(runnerIdle.Load()))
	defer idle.Stop()
	for {
		for r := j.r; r != nil; {
			r = j.s.conduct(r)
		}
		idleRunners.Lock()
		idleRunners.list = append(idleRunners.list, w)
		idleRunners.Unlock()
		idle.Reset(time.Duration(runnerIdle.Load()))
		select {
		case j = <-w.jobs:
			continue
		case <-idle.C:
		}
		idleRunners.Lock()
		i := slices.Index(idleRunners.list, w)
		if i >= 0 {
			idleRunners.list = slices.Delete(idleRunners.list, i, i+1)
		}
		idleRunners.Unlock()
		if i >= 0 {
			return
		}
		// dispatch took w off the list just now: its job is on the way.
		j = <-w.jobs
	}
}
