package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// The load generator's goroutines carry this pprof label: attack starts the
// vegeta attack inside pprof.Do, and every goroutine started from there
// inherits it (the pacer, its workers, and the read and write loops of
// their connections). settle counts them apart from the rest of the
// process, which in standalone mode includes the server: fasthttp keeps an
// idle worker per closed connection for 10s, which is not the client's
// state and must not be waited for.
const (
	loadLabelKey   = "pgfast_bench"
	loadLabelValue = "load"
)

// Bounds of settle's wait for the previous attack's goroutines.
const (
	settleTimeout = 5 * time.Second
	settlePoll    = 10 * time.Millisecond
)

// Settle is the state of the client when a scenario's attack started. An
// attack ends by stopping its attacker and closing its connections; the
// next one first closes whatever connection became idle since, runs the
// GC, so that the previous scenario's garbage (a thousand connections'
// buffers after ping or peak) is not collected during the measurement, and
// waits, at most 5s, until no goroutine of an earlier attack is left.
// Without it a paced select right after a 1000-connection ping measured
// the previous scenario's teardown in its p99.
type Settle struct {
	// Settled reports whether no goroutine of an earlier attack was left
	// when the attack started.
	Settled bool `json:"settled"`
	// LoadGoroutines is how many goroutines of earlier attacks were still
	// running then: 0 when settled.
	LoadGoroutines int `json:"load_goroutines"`
	// Goroutines is runtime.NumGoroutine then: the whole process, so in
	// standalone mode the server's too.
	Goroutines int `json:"goroutines"`
	// WaitSeconds is how long settling took, GC included.
	WaitSeconds float64 `json:"wait_seconds"`
}

// worse returns whichever of s and o waited longer, preferring an
// unsettled one: a row of repeated runs shows its worst start.
func (s *Settle) worse(o *Settle) *Settle {
	switch {
	case s == nil:
		return o
	case o == nil:
		return s
	case s.Settled != o.Settled:
		if !s.Settled {
			return s
		}
		return o
	case o.WaitSeconds > s.WaitSeconds:
		return o
	}
	return s
}

// settle brings the client back to its baseline before an attack (see
// Settle). prev is the previous attack's transport, or nil.
func settle(ctx context.Context, prev *http.Transport) Settle {
	start := time.Now()
	n, err := loadGoroutines()
	for err == nil && n > 0 && time.Since(start) < settleTimeout && ctx.Err() == nil {
		if prev != nil {
			// A connection whose response was read as the attack
			// ended may have gone back to the idle pool after the first
			// close.
			prev.CloseIdleConnections()
		}
		time.Sleep(settlePoll)
		n, err = loadGoroutines()
	}
	runtime.GC()
	s := Settle{Settled: err == nil && n == 0, LoadGoroutines: n, Goroutines: runtime.NumGoroutine(),
		WaitSeconds: time.Since(start).Seconds()}
	if err != nil {
		s.LoadGoroutines = -1
	}
	return s
}

// withLoadLabel runs f with the load label, which the goroutines f starts
// inherit.
func withLoadLabel(ctx context.Context, f func(context.Context)) {
	pprof.Do(ctx, pprof.Labels(loadLabelKey, loadLabelValue), f)
}

// loadGoroutines counts the goroutines with the load label, from a
// goroutine profile (a short stop of the world, between attacks only).
func loadGoroutines() (int, error) {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 0); err != nil {
		return 0, fmt.Errorf("cannot read the goroutine profile: %w", err)
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		return 0, fmt.Errorf("cannot parse the goroutine profile: %w", err)
	}
	n := 0
	for _, s := range p.Sample {
		if slices.Contains(s.Label[loadLabelKey], loadLabelValue) && len(s.Value) > 0 {
			n += int(s.Value[0])
		}
	}
	return n, nil
}

// settleNote summarizes how the report's attacks started, for the notes
// under the table.
func settleNote(rows []Result) string {
	var worst *Settle
	var unsettled []string
	n := 0
	for i := range rows {
		s := rows[i].Settle
		if s == nil {
			continue
		}
		n++
		worst = worst.worse(s)
		if !s.Settled {
			unsettled = append(unsettled, fmt.Sprintf("%s (%d load goroutines left after %s)", rows[i].Scenario, s.LoadGoroutines, settleTimeout))
		}
	}
	if n == 0 {
		return ""
	}
	if len(unsettled) > 0 {
		return "client: NOT settled before " + strings.Join(unsettled, ", ") + ": their numbers may include the previous scenario's teardown"
	}
	return fmt.Sprintf("client: every scenario started settled (previous attacker stopped, its connections closed, GC run, "+
		"load goroutines back to 0; longest wait %s, process goroutines %d then)", formatMillis(worst.WaitSeconds*1000), worst.Goroutines)
}
