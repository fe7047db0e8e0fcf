package engine

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// RouteStats is one endpoint's part of Stats, read from the request
// histogram: counts since start and latency quantiles estimated from its
// buckets (linear within a bucket).
type RouteStats struct {
	Requests uint64  `json:"requests"`
	Errors   uint64  `json:"errors"` // status 5xx
	Client   uint64  `json:"client_errors"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
	// Coalesce is the route's coalescing (sqlexec's runs) since its
	// statement was compiled; absent for a route that does not coalesce.
	Coalesce *RouteCoalesce `json:"coalesce,omitempty"`
}

// RouteCoalesce is a coalescing route's part of RouteStats: the runs of
// two requests or more, those answered by one keyed statement, the
// requests the runs answered and the requests waiting in runs now.
type RouteCoalesce struct {
	Runs      int64 `json:"runs"`
	KeyedRuns int64 `json:"keyed_runs"`
	Requests  int64 `json:"requests"`
	Waiting   int64 `json:"waiting"`
}

// routeStats folds the request histogram's children (one per route and
// status) into one entry per route.
func (m *metrics) routeStats() map[string]RouteStats {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		m.duration.Collect(ch)
		close(ch)
	}()
	type acc struct {
		RouteStats
		buckets []uint64 // cumulative, by requestBuckets
	}
	by := map[string]*acc{}
	for pm := range ch {
		var d dto.Metric
		if pm.Write(&d) != nil || d.Histogram == nil {
			continue
		}
		var route string
		status := 0
		for _, l := range d.Label {
			switch l.GetName() {
			case "route":
				route = l.GetValue()
			case "status":
				status, _ = strconv.Atoi(l.GetValue())
			}
		}
		a := by[route]
		if a == nil {
			a = &acc{buckets: make([]uint64, len(requestBuckets))}
			by[route] = a
		}
		n := d.Histogram.GetSampleCount()
		a.Requests += n
		switch {
		case status >= 500:
			a.Errors += n
		case status >= 400:
			a.Client += n
		}
		for i, b := range d.Histogram.Bucket {
			if i < len(a.buckets) {
				a.buckets[i] += b.GetCumulativeCount()
			}
		}
	}
	out := make(map[string]RouteStats, len(by))
	for route, a := range by {
		a.P50MS = quantile(a.buckets, a.Requests, 0.50) * 1000
		a.P99MS = quantile(a.buckets, a.Requests, 0.99) * 1000
		out[route] = a.RouteStats
	}
	return out
}

// quantile estimates the q-quantile from cumulative bucket counts.
func quantile(cum []uint64, total uint64, q float64) float64 {
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	lower, below := 0.0, uint64(0)
	for i, c := range cum {
		if float64(c) >= rank {
			in := c - below
			if in == 0 {
				return requestBuckets[i]
			}
			return lower + (requestBuckets[i]-lower)*(rank-float64(below))/float64(in)
		}
		lower, below = requestBuckets[i], c
	}
	return requestBuckets[len(requestBuckets)-1] // past the last bucket: its bound, a floor
}

// ReloadEvent is one reload, for the status page.
type ReloadEvent struct {
	Time   time.Time `json:"time"`
	OK     bool      `json:"ok"`
	Routes int       `json:"routes,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// maxReloadHistory is how many reloads the status page shows.
const maxReloadHistory = 20

// reloadHistory keeps the latest reloads, newest last.
type reloadHistory struct {
	mu     sync.Mutex
	events []ReloadEvent
}

func (h *reloadHistory) add(ev ReloadEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == maxReloadHistory {
		copy(h.events, h.events[1:])
		h.events = h.events[:maxReloadHistory-1]
	}
	h.events = append(h.events, ev)
}

func (h *reloadHistory) list() []ReloadEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]ReloadEvent{}, h.events...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
