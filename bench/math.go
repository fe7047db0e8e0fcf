package bench

import (
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Extra keys (shown, never compared).
const (
	extraAcquires      = "acquires"
	extraEmptyAcquires = "empty_acquires"
	extraGateWaits     = "gate_waits"
	extraRowsPerReq    = "rows_per_response"
	extraP99           = "p99_ms"
	extraHits          = "hits"
	extraMisses        = "misses"
	// extraDirectReqPerSec is the proxy scenario's req/s straight to the
	// upstream, extraVsDirect its req/s through pgfast divided by that.
	extraDirectReqPerSec = "direct_req_per_s"
	extraVsDirect        = "vs_direct"
	// extraMaxRSS is the target's RSS high-water mark after peak in MB
	// (process.max_rss_bytes: since the target started, not only during
	// peak), extraRSSSamples how many reads the peak RSS is the largest of.
	extraMaxRSS     = "max_rss_mb"
	extraRSSSamples = "rss_samples"
	// extraCoalesced is how many of peak's requests coalesced runs
	// answered, extraCoalescedRuns and extraKeyedRuns how many runs
	// (routes[].coalesce of /admin/stats, summed over the routes).
	extraCoalesced     = "coalesced"
	extraCoalescedRuns = "coalesced_runs"
	extraKeyedRuns     = "keyed_runs"
)

// perSecond returns n events over d, or 0 when d is not positive.
func perSecond(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}

// millis converts a duration to milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencies returns the p50 and p99 of m in milliseconds. m must be closed
// (vegeta computes the quantiles from its t-digest in Close).
func latencies(m *vegeta.Metrics) (p50, p99 float64) {
	return millis(m.Latencies.P50), millis(m.Latencies.P99)
}

// efficiency is 1 - empty/acquires: the share of connection acquires that
// did not wait (DESIGN §8's pool row). ok is false without acquires.
func efficiency(acquires, empty int64) (eff float64, ok bool) {
	if acquires <= 0 {
		return 0, false
	}
	return max(0, 1-float64(empty)/float64(acquires)), true
}

// hitRate is hits / (hits + misses); ok is false without lookups.
func hitRate(hits, misses uint64) (rate float64, ok bool) {
	if hits+misses == 0 {
		return 0, false
	}
	return float64(hits) / float64(hits+misses), true
}

// delta returns after - before, or 0 when a counter went backwards (the
// server restarted between the two reads).
func delta[T int64 | uint64](before, after T) T {
	if after < before {
		return 0
	}
	return after - before
}
