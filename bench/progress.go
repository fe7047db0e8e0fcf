package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress shows one scenario's advance while it runs: a bar redrawn in
// place on a terminal, or a plain line per second for CI logs. Its
// goroutine starts in startProgress and ends in finish.
type progress struct {
	w     io.Writer
	bar   bool
	name  string
	total time.Duration
	start time.Time

	done, failed atomic.Uint64

	stop chan struct{}
	wg   sync.WaitGroup
}

const (
	barWidth      = 30
	barInterval   = 200 * time.Millisecond
	plainInterval = time.Second
)

// startProgress starts showing a scenario of duration total on w; a nil w
// shows nothing (the returned progress still counts).
func startProgress(w io.Writer, bar bool, name string, total time.Duration) *progress {
	p := &progress{w: w, bar: bar, name: name, total: total, start: time.Now(), stop: make(chan struct{})}
	if w == nil {
		return p
	}
	every := plainInterval
	if bar {
		every = barInterval
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
	return p
}

// add counts one response.
func (p *progress) add(ok bool) {
	p.done.Add(1)
	if !ok {
		p.failed.Add(1)
	}
}

// finish stops the ticker and shows the final state.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
	if p.w != nil {
		p.draw(true)
	}
}

func (p *progress) draw(final bool) {
	elapsed := time.Since(p.start)
	done, failed := p.done.Load(), p.failed.Load()
	rate := perSecond(float64(done), elapsed)
	frac := 1.0
	if p.total > 0 && !final {
		frac = min(1, float64(elapsed)/float64(p.total))
	}
	stats := fmt.Sprintf("%s requests, %s/s, %s failed", formatCount(float64(done)), formatCount(rate), formatCount(float64(failed)))
	if !p.bar {
		verb := "running"
		if final {
			verb = "done"
		}
		fmt.Fprintf(p.w, "bench: %-6s %s %5.1fs/%s: %s\n", p.name, verb, elapsed.Seconds(), p.total, stats)
		return
	}
	fill := int(frac * barWidth)
	line := fmt.Sprintf("\r%-6s [%s%s] %3.0f%% %5.1fs  %s", p.name, strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill),
		frac*100, elapsed.Seconds(), stats)
	// Pad so a shorter line wipes the end of a longer one, then clear to the
	// end of the line.
	fmt.Fprintf(p.w, "%-100s\x1b[K", line)
	if final {
		fmt.Fprintln(p.w)
	}
}
