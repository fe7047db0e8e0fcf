package limiter

import (
	"sync"
	"time"
)

// janitor runs sweep every interval, at the time clock tells, until stopped. The
// limiter that starts it stops it in Close.
type janitor struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// startJanitor starts the goroutine, or returns a stopped janitor when
// interval is negative (sweeping disabled).
func startJanitor(interval time.Duration, clock func() time.Time, sweep func(time.Time) int) *janitor {
	j := &janitor{stop: make(chan struct{}), done: make(chan struct{})}
	if interval < 0 {
		close(j.done)
		return j
	}
	go j.run(interval, clock, sweep)
	return j
}

func (j *janitor) run(interval time.Duration, clock func() time.Time, sweep func(time.Time) int) {
	defer close(j.done)
	// A timer re-armed after each sweep, not a ticker: a sweep of millions
	// of keys that outlasts the interval is followed by a full interval of
	// rest, so the janitor never takes more than its share of a core.
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			sweep(clock())
			t.Reset(interval)
		}
	}
}

// close stops the goroutine and waits for it; it is idempotent.
func (j *janitor) close() {
	j.once.Do(func() { close(j.stop) })
	<-j.done
}
