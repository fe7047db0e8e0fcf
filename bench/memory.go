package bench

import (
	"context"
	"time"
)

// rssPollInterval is how often the memory row reads /admin/stats during
// peak: often enough to catch a peak that lasts a GC cycle or two, rarely
// enough (a JSON document of a few KB ten times a second) to cost the
// target nothing measurable.
const rssPollInterval = 100 * time.Millisecond

// megabyte is the memory row's unit: 10^6 bytes, as "MB" reads.
const megabyte = 1e6

// rssWatch polls the target's resident set size until stopped.
type rssWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	// Set by the polling goroutine, read after done.
	peak    int64 // largest process.rss_bytes seen
	samples int   // successful reads
	err     error // first failed read
}

// watchRSS starts polling the admin listener's process.rss_bytes every
// rssPollInterval. Stop ends it; the caller must call Stop.
func (r *runner) watchRSS(ctx context.Context) *rssWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &rssWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(rssPollInterval)
		defer t.Stop()
		for {
			st, err := readStats(ctx, r.http, r.admin)
			switch {
			case ctx.Err() != nil:
				return // a read cut short by Stop is no failure
			case err != nil:
				if w.err == nil {
					w.err = err
				}
			default:
				w.samples++
				w.peak = max(w.peak, st.Process.RSSBytes)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// Stop ends the polling and waits for it; the fields are then final.
func (w *rssWatch) Stop() {
	w.cancel()
	<-w.done
}

// memoryRow is the memory row from a watch over peak and the stats read
// after it (after's error, afterErr, when that read failed). elapsed is
// peak's measured time.
func (r *runner) memoryRow(w *rssWatch, after adminStats, afterErr error, elapsed time.Duration) Result {
	res := Result{Scenario: ScenarioMemory, Metrics: map[string]float64{}, Extra: map[string]float64{}, Seconds: elapsed.Seconds()}
	if r.inProcess {
		res.Note = "pgfast ran in bench's process (Options.ServeCommand unset), so this RSS includes the load generator's; pgfast bench --standalone and --target runs measure pgfast alone"
	}
	switch {
	case w.samples == 0 && w.err != nil:
		res.Failure = w.err.Error()
		return res
	case w.samples == 0:
		res.Failure = "/admin/stats was not read during peak"
		return res
	case w.peak <= 0:
		res.Failure = "/admin/stats reports no process.rss_bytes: is the target a pgfast that reports its memory?"
		return res
	}
	res.Metrics[MetricPeakRSS] = float64(w.peak) / megabyte
	res.Extra[extraRSSSamples] = float64(w.samples)
	if afterErr == nil && after.Process.MaxRSSBytes > 0 {
		res.Extra[extraMaxRSS] = float64(after.Process.MaxRSSBytes) / megabyte
	}
	return res
}
