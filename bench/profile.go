package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/pprof/profile"
)

// Profiles are the files one scenario's profiling left.
type Profiles struct {
	CPU, Heap, FlameGraph string
}

// profileWindow returns when, after a scenario of duration d starts, to
// start its CPU profile, and for how many seconds (pprof takes whole
// seconds): past the ramp-up, ending before the load does when it can.
func profileWindow(d time.Duration) (delay time.Duration, seconds int) {
	delay = min(d/10, time.Second)
	seconds = max(1, int((d-delay)/time.Second))
	return delay, seconds
}

// pullProfiles records scenario's profiles from the admin listener while
// its load of duration d runs: a CPU profile over most of it, a heap
// profile half way, both written to dir as <scenario>-{cpu,heap}.pprof, and
// a flame graph of the CPU profile as <scenario>-cpu.svg. It returns when
// all three are written, or on the first error.
func pullProfiles(ctx context.Context, c *http.Client, admin, dir, scenario string, d time.Duration) (Profiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Profiles{}, fmt.Errorf("cannot create profile directory: %w", err)
	}
	p := Profiles{
		CPU:        filepath.Join(dir, scenario+"-cpu.pprof"),
		Heap:       filepath.Join(dir, scenario+"-heap.pprof"),
		FlameGraph: filepath.Join(dir, scenario+"-cpu.svg"),
	}
	delay, seconds := profileWindow(d)
	heapErr := make(chan error, 1)
	go func() {
		heapErr <- sleepThen(ctx, d/2, func() error { return fetchTo(ctx, c, admin+"/debug/pprof/heap", p.Heap) })
	}()
	cpuErr := sleepThen(ctx, delay, func() error {
		return fetchTo(ctx, c, admin+"/debug/pprof/profile?seconds="+strconv.Itoa(seconds), p.CPU)
	})
	if err := <-heapErr; err != nil {
		return p, err
	}
	if cpuErr != nil {
		return p, cpuErr
	}
	raw, err := os.ReadFile(p.CPU)
	if err != nil {
		return p, fmt.Errorf("cannot read CPU profile: %w", err)
	}
	if err := renderFlameGraph(raw, p.FlameGraph, scenario); err != nil {
		return p, err
	}
	return p, nil
}

func sleepThen(ctx context.Context, d time.Duration, fn func() error) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	return fn()
}

// fetchTo writes the body of GET url to path.
func fetchTo(ctx context.Context, c *http.Client, url, path string) error {
	body, err := get(ctx, c, url)
	if err != nil {
		return fmt.Errorf("cannot pull profile: %w", err)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return fmt.Errorf("cannot write profile: %w", err)
	}
	return nil
}

// renderFlameGraph parses a pprof CPU profile and writes its flame graph
// to path.
func renderFlameGraph(raw []byte, path, scenario string) error {
	prof, err := profile.Parse(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("cannot parse CPU profile: %w", err)
	}
	root, err := Fold(prof)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	title := fmt.Sprintf("pgfast CPU profile, %s scenario (%s of CPU time)", scenario, time.Duration(root.Value).Round(time.Millisecond))
	if err := WriteFlameGraph(&buf, root, FlameOptions{Title: title}); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("cannot write flame graph: %w", err)
	}
	return nil
}
