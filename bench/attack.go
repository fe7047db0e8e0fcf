package bench

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"
)

// load is one vegeta attack: what to hit, how hard and for how long.
type load struct {
	// name labels the progress line and the profiles.
	name     string
	targeter vegeta.Targeter
	// rate is requests per second; 0 sends as fast as conns workers can
	// (closed loop).
	rate int
	// conns bounds connections and workers.
	conns int
	// duration of the attack; 0 runs until the targeter stops it.
	duration time.Duration
	// keepBody keeps response bodies for check; otherwise they are read and
	// dropped, which spares the client a copy of every body.
	keepBody bool
	// check, when set, inspects a 2xx response and returns why it failed,
	// or "".
	check func(*vegeta.Result) string
	// profile marks a scenario's measurement: it pulls profiles during the
	// attack (with Options.Profile) and adds the results to the scenario's
	// latency plot (with Options.PlotPath).
	profile bool
	// quiet hides the progress line.
	quiet bool
}

// outcome is what an attack measured.
type outcome struct {
	metrics  vegeta.Metrics // closed
	requests uint64
	ok       uint64
	failed   uint64
	samples  []string
	// elapsed runs from the first request sent to the last response read.
	elapsed  time.Duration
	profiles Profiles
	// profileErr is why profiles are missing, when Options.Profile asked.
	profileErr error
	// settle is the client's state when the attack started.
	settle Settle
	// warmup is how long the attack ran before its results counted.
	warmup time.Duration
}

// maxSamples bounds the distinct failure texts an outcome keeps.
const maxSamples = 3

// initialWorkers is how many workers a paced attack starts with; vegeta adds
// more, up to conns, when responses slow down (open loop).
const initialWorkers = 10

// warmupFor is how long a paced attack of duration d runs before its
// results count: a tenth of d, 100 ms to 1 s. Its workers and connections
// start then, so the measurement sees neither vegeta adding workers nor
// their first dials. Closed-loop attacks start every worker at once and
// measure throughput over the whole run, so they need none.
func warmupFor(d time.Duration) time.Duration {
	return min(max(d/10, 100*time.Millisecond), time.Second)
}

// attack runs l against the target and aggregates its results. It returns
// early, with what it has, when ctx ends.
func (r *runner) attack(ctx context.Context, l load) outcome {
	var out outcome
	out.settle = settle(ctx, r.prevTransport)
	r.prevTransport = nil

	tr := &http.Transport{
		DialContext:        (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		DisableCompression: true, // measure pgfast's bodies, not gzip
		IdleConnTimeout:    30 * time.Second,
	}
	// Connections left open would count against the next scenario's
	// server, and their goroutines against its client: close them now, and
	// let the next attack's settle close any that went idle later.
	defer func() {
		tr.CloseIdleConnections()
		r.prevTransport = tr
	}()
	workers := l.conns
	if l.rate > 0 && l.duration > 0 {
		workers = min(l.conns, initialWorkers)
		out.warmup = warmupFor(l.duration)
	}
	maxBody := int64(0)
	if l.keepBody {
		maxBody = vegeta.DefaultMaxBody
	}
	a := vegeta.NewAttacker(
		vegeta.Client(&http.Client{Transport: tr}),
		vegeta.Timeout(r.o.Timeout),
		vegeta.Connections(l.conns),
		vegeta.MaxConnections(l.conns),
		vegeta.Workers(uint64(workers)),
		vegeta.MaxWorkers(uint64(l.conns)),
		vegeta.KeepAlive(true),
		vegeta.HTTP2(false),
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.MaxBody(maxBody),
	)
	stopOnCancel := context.AfterFunc(ctx, func() { a.Stop() })
	defer stopOnCancel()

	var wg sync.WaitGroup
	if l.profile && r.o.Profile {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.profiles, out.profileErr = pullProfiles(ctx, r.http, r.admin, r.o.ProfileDir, l.name, l.duration)
		}()
	}
	var w = r.o.Progress
	if l.quiet {
		w = nil
	}
	var pl *plot.Plot
	if l.profile && r.o.PlotPath != "" {
		pl = r.plotFor(l.name)
	}
	// The attack's name is its series in the plot.
	series := l.name
	if r.o.Repeat > 1 {
		series += " run " + strconv.Itoa(r.round+1)
	}
	total := l.duration
	if total > 0 {
		total += out.warmup
	}
	prog := startProgress(w, r.o.ProgressBar, l.name, total)
	pacer := vegeta.ConstantPacer{Freq: l.rate, Per: time.Second}
	seen := map[string]bool{}
	var results <-chan *vegeta.Result
	withLoadLabel(ctx, func(context.Context) { results = a.Attack(l.targeter, pacer, total, series) })
	measureFrom := time.Now().Add(out.warmup)
	for res := range results {
		if res.Error == vegeta.ErrNoTargets.Error() {
			continue // the targeter's end, not a request
		}
		if pl != nil {
			// The plot shows the warm-up too: it orders results by their
			// sequence number, which starts with the warm-up's.
			pl.Add(res)
		}
		if res.Timestamp.Before(measureFrom) {
			continue
		}
		out.metrics.Add(res)
		out.requests++
		why := res.Error
		switch {
		case why != "":
		case res.Code < 200 || res.Code > 299:
			why = "status " + strconv.Itoa(int(res.Code))
		case l.check != nil:
			why = l.check(res)
		}
		if why == "" {
			out.ok++
		} else {
			out.failed++
			if !seen[why] && len(out.samples) < maxSamples {
				seen[why] = true
				out.samples = append(out.samples, why)
			}
		}
		prog.add(why == "")
	}
	prog.finish()
	a.Stop()
	wg.Wait()
	out.metrics.Close()
	out.elapsed = out.metrics.Duration + out.metrics.Wait
	return out
}

// result starts a scenario's row from an attack's outcome.
func (o *outcome) result(scenario string) Result {
	r := Result{
		Scenario:     scenario,
		Metrics:      map[string]float64{},
		Extra:        map[string]float64{},
		Requests:     o.requests,
		Errors:       o.failed,
		ErrorSamples: o.samples,
		Seconds:      o.elapsed.Seconds(),
		Settle:       &o.settle,
	}
	if o.requests == 0 {
		r.Failure = "no response within the scenario's duration"
	}
	return r
}
