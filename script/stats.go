package script

import "time"

// DurationBounds are the upper bounds of the call-duration histogram's
// buckets, sized for hooks that take microseconds and are stopped at a
// timeout of milliseconds; Stats.DurationCounts has one more, for longer
// calls.
var DurationBounds = [...]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond,
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
}

// Stats is a snapshot of a Script's counters, cumulative since Compile.
// The engine renders them as pgfast_script_* metrics, labelled with the
// route (Name): Errors is pgfast_script_errors_total{route}.
type Stats struct {
	// Name is Options.Name.
	Name string
	// Calls counts OnRequest and OnResponse calls that ran a hook.
	Calls int64
	// Errors counts the calls that returned an error, of every kind;
	// Timeouts and MemoryErrors count those of Kind Timeout and Memory.
	Errors, Timeouts, MemoryErrors int64
	// Answers counts on_request calls that answered directly.
	Answers int64
	// StatesCreated counts states built (each runs the script's top
	// level); StatesDropped counts states dropped after a failed call.
	// Created growing with Calls means the pool is too small (MaxIdle) or
	// calls keep failing.
	StatesCreated, StatesDropped int64
	// Idle is the number of ready states in the pool.
	Idle int
	// DurationCounts is the histogram of call durations:
	// DurationCounts[i] counts calls that took at most DurationBounds[i]
	// and more than the bound before; the last counts longer calls. Not
	// cumulative.
	DurationCounts [len(DurationBounds) + 1]int64
	// DurationSum is the total time of the calls.
	DurationSum time.Duration
}

// Stats returns a snapshot of s's counters.
func (s *Script) Stats() Stats {
	st := Stats{
		Name:           s.opts.Name,
		Calls:          s.calls.Load(),
		Errors:         s.errs.Load(),
		Timeouts:       s.timeouts.Load(),
		MemoryErrors:   s.memErrs.Load(),
		Answers:        s.answers.Load(),
		StatesCreated:  s.statesCreated.Load(),
		StatesDropped:  s.statesDropped.Load(),
		Idle:           len(s.idle),
		DurationCounts: [len(DurationBounds) + 1]int64{},
		DurationSum:    time.Duration(s.durSum.Load()),
	}
	for i := range s.durCounts {
		st.DurationCounts[i] = s.durCounts[i].Load()
	}
	return st
}
