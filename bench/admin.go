package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/pgfast/pgfast/engine"
)

// adminStats is the part of GET /admin/stats the scenarios read: the main
// pool's size and acquire counters, the cache's lookup counters and the
// process's memory. The engine encodes pool.Stats and cache.Stats without
// JSON tags, so their keys are the Go field names; its process stats have
// tags.
type adminStats struct {
	Pools map[string]struct {
		MaxConns          int32
		GateSize          int
		AcquireCount      int64
		EmptyAcquireCount int64
		GateWaitCount     int64
	}
	Cache struct {
		Hits   uint64
		Misses uint64
	}
	Process struct {
		RSSBytes    int64 `json:"rss_bytes"`
		MaxRSSBytes int64 `json:"max_rss_bytes"`
	} `json:"process"`
	Routes map[string]struct {
		Coalesce *engine.RouteCoalesce `json:"coalesce"`
	} `json:"routes"`
}

// coalesced sums the coalescing runs, keyed runs and requests of every
// route.
func (s *adminStats) coalesced() (c engine.RouteCoalesce, found bool) {
	for _, r := range s.Routes {
		if r.Coalesce != nil {
			c.Runs += r.Coalesce.Runs
			c.KeyedRuns += r.Coalesce.KeyedRuns
			c.Requests += r.Coalesce.Requests
			found = true
		}
	}
	return c, found
}

// mainPool is the pool the declared routes use.
const mainPool = "main"

// maxErrorBody bounds how much of an error response is quoted.
const maxErrorBody = 300

// get fetches url and returns its body; a non-200 status is an error that
// quotes the start of the body.
func get(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot build request for %s: %w", url, err)
	}
	return do(c, req)
}

func do(c *http.Client, req *http.Request) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot %s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s %s: %w", req.Method, req.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL, resp.StatusCode, clip(body))
	}
	return body, nil
}

// clip returns the start of b as one line, for error messages.
func clip(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > maxErrorBody {
		return strings.ReplaceAll(string(b[:maxErrorBody]), "\n", " ") + "…"
	}
	return strings.ReplaceAll(string(b), "\n", " ")
}

// readStats reads the admin listener's /admin/stats.
func readStats(ctx context.Context, c *http.Client, admin string) (adminStats, error) {
	var s adminStats
	body, err := get(ctx, c, admin+"/admin/stats")
	if err != nil {
		return s, fmt.Errorf("cannot read the admin listener's stats (set --admin): %w", err)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("cannot parse /admin/stats: %w", err)
	}
	return s, nil
}
