package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The scenarios of DESIGN §8. Each returns its row; a row that could not be
// measured carries a Failure.

// zipfSeed seeds the cached scenario's key sequence.
const zipfSeed = 20_251_123

// warmConns bounds the connections of the cache warm-up and the batch
// scenario, which need few.
const warmConns = 64

// ping measures GET /ping at full speed: the HTTP ceiling of this machine,
// which peak and cached are divided by.
func (r *runner) ping(ctx context.Context) Result {
	out := r.attack(ctx, load{name: ScenarioPing, targeter: fixed(r.target + "/ping"), conns: r.o.Connections,
		duration: r.o.Duration, profile: true})
	res := r.finish(&out, ScenarioPing)
	if res.Failure == "" {
		res.Metrics[MetricReqPerSec] = perSecond(float64(out.ok), out.elapsed)
	}
	return res
}

// selectLatency measures random ids on the uncached route at a fixed,
// moderate rate: p50 and p99 of a server that is not saturated.
func (r *runner) selectLatency(ctx context.Context) Result {
	note := r.cachedRouteNote(ctx)
	out := r.attack(ctx, load{name: ScenarioSelect, targeter: uniformIDs(r.target, r.o.SelectPath, r.o.IDs),
		rate: r.o.Rate, conns: r.o.Connections, duration: r.o.Duration, profile: true})
	res := r.finish(&out, ScenarioSelect)
	res.Note = note
	if res.Failure == "" {
		res.Metrics[MetricP50], res.Metrics[MetricP99] = latencies(&out.metrics)
		res.Extra[MetricReqPerSec] = perSecond(float64(out.ok), out.elapsed)
	}
	return res
}

// peak measures the uncached route with Connections clients as fast as they
// go, and meanwhile the main pool's efficiency (the pool row) and, with
// watchMemory, the target's RSS polled every rssPollInterval (the memory
// row, zero otherwise).
func (r *runner) peak(ctx context.Context, watchMemory bool) (peak, pool, memory Result) {
	before, errBefore := readStats(ctx, r.http, r.admin)
	var w *rssWatch
	if watchMemory {
		w = r.watchRSS(ctx)
	}
	out := r.attack(ctx, load{name: ScenarioPeak, targeter: uniformIDs(r.target, r.o.SelectPath, r.o.IDs),
		conns: r.o.Connections, duration: r.o.Duration, profile: true})
	if w != nil {
		w.Stop()
	}
	after, errAfter := readStats(ctx, r.http, r.admin)
	if w != nil {
		memory = r.memoryRow(w, after, errAfter, out.elapsed)
	}
	peak = r.finish(&out, ScenarioPeak)
	if peak.Failure == "" {
		peak.Metrics[MetricReqPerSec] = perSecond(float64(out.ok), out.elapsed)
		p50, p99 := latencies(&out.metrics)
		peak.Extra[MetricP50], peak.Extra[extraP99] = p50, p99
		b, okB := before.coalesced()
		a, okA := after.coalesced()
		if errBefore == nil && errAfter == nil && okB && okA {
			peak.Extra[extraCoalesced] = float64(delta(b.Requests, a.Requests))
			peak.Extra[extraCoalescedRuns] = float64(delta(b.Runs, a.Runs))
			peak.Extra[extraKeyedRuns] = float64(delta(b.KeyedRuns, a.KeyedRuns))
		}
	}
	pool = Result{Scenario: ScenarioPool, Metrics: map[string]float64{}, Extra: map[string]float64{}, Seconds: out.elapsed.Seconds()}
	// The first error only: the same unreachable listener would
	// otherwise be reported twice in one line of notes.
	if err := cmp.Or(errBefore, errAfter); err != nil {
		pool.Failure = err.Error()
		return peak, pool, memory
	}
	b, okB := before.Pools[mainPool]
	a, okA := after.Pools[mainPool]
	if !okB || !okA {
		pool.Failure = "/admin/stats has no pool " + mainPool
		return peak, pool, memory
	}
	acquires, empty := delta(b.AcquireCount, a.AcquireCount), delta(b.EmptyAcquireCount, a.EmptyAcquireCount)
	eff, ok := efficiency(acquires, empty)
	if !ok {
		pool.Failure = "no connection was acquired from pool " + mainPool + " during peak"
		return peak, pool, memory
	}
	pool.Metrics[MetricEfficiency] = eff
	pool.Extra[extraAcquires], pool.Extra[extraEmptyAcquires] = float64(acquires), float64(empty)
	pool.Extra[extraGateWaits] = float64(delta(b.GateWaitCount, a.GateWaitCount))
	return peak, pool, memory
}

// cached measures the cached route with Zipf-distributed keys and
// Connections clients, after a warm-up that requests every key once, and
// the cache's hit rate meanwhile from /admin/stats.
func (r *runner) cached(ctx context.Context) Result {
	start := time.Now()
	r.progressf("bench: cached: warming the cache with %s keys", formatCount(float64(r.o.CachedKeys)))
	warm := r.attack(ctx, load{name: "warm-up", targeter: sequentialIDs(r.target, r.o.CachedPath, r.o.CachedKeys),
		conns: min(r.o.Connections, warmConns), quiet: true})
	r.progressf("bench: cached: warm-up done in %s (%s failed)", time.Since(start).Round(time.Millisecond), formatCount(float64(warm.failed)))

	before, errBefore := readStats(ctx, r.http, r.admin)
	// A fixed seed: every run asks for the same keys in the same order.
	out := r.attack(ctx, load{name: ScenarioCached, targeter: zipfIDs(r.target, r.o.CachedPath, r.o.CachedKeys, r.o.ZipfS, zipfSeed),
		conns: r.o.Connections, duration: r.o.Duration, profile: true})
	after, errAfter := readStats(ctx, r.http, r.admin)
	res := r.finish(&out, ScenarioCached)
	if warm.failed > 0 {
		res.Note = fmt.Sprintf("%s of %s warm-up requests failed", formatCount(float64(warm.failed)), formatCount(float64(warm.requests)))
	}
	if res.Failure != "" {
		return res
	}
	res.Metrics[MetricReqPerSec] = perSecond(float64(out.ok), out.elapsed)
	if err := cmp.Or(errBefore, errAfter); err != nil { // the first error only, as for pool
		res.Failure = "no hit rate: " + err.Error()
		return res
	}
	hits, misses := delta(before.Cache.Hits, after.Cache.Hits), delta(before.Cache.Misses, after.Cache.Misses)
	rate, ok := hitRate(hits, misses)
	if !ok {
		res.Failure = "no cache lookup counted during the scenario: is the cached path a cached route?"
		return res
	}
	res.Metrics[MetricHitRate] = rate
	res.Extra[extraHits], res.Extra[extraMisses] = float64(hits), float64(misses)
	return res
}

// proxyTail is what proxy appends to ProxyPath: any path below the route.
const proxyTail = "x"

// proxy measures GET ProxyPath+"x" through the target's upstream route with
// Connections clients as fast as they go, then the same path on the
// upstream directly with the same clients for as long: req/s through
// pgfast, req/s direct, and their ratio, the share of the upstream's speed
// that is left behind the proxy. The errors counted are those through
// pgfast; too many failed direct requests fail the row, as the ratio would
// then mean nothing. On one machine the upstream and the load generator
// share the cores with pgfast in both runs, so the ratio is read, like
// /ping's, as measured in one run.
func (r *runner) proxy(ctx context.Context) Result {
	if r.upstream == "" {
		return Result{Scenario: ScenarioProxy, Metrics: map[string]float64{},
			Skipped: "no --proxy-upstream: name the upstream the target's " + r.o.ProxyPath + "* route forwards to, so the direct rate can be measured"}
	}
	out := r.attack(ctx, load{name: ScenarioProxy, targeter: fixed(r.target + r.o.ProxyPath + proxyTail), conns: r.o.Connections,
		duration: r.o.Duration, profile: true})
	res := r.finish(&out, ScenarioProxy)
	if res.Failure != "" {
		return res
	}
	through := perSecond(float64(out.ok), out.elapsed)
	res.Metrics[MetricReqPerSec] = through
	if ctx.Err() != nil {
		return res
	}
	direct := r.attack(ctx, load{name: "direct", targeter: fixed(r.upstream + r.o.ProxyPath + proxyTail), conns: r.o.Connections,
		duration: r.o.Duration})
	switch {
	case direct.requests == 0:
		res.Failure = "no direct response from the upstream " + r.upstream + " within the scenario's duration"
		return res
	case direct.failed > 0:
		msg := fmt.Sprintf("%s of %s direct requests to the upstream %s failed, e.g. %s", formatCount(float64(direct.failed)),
			formatCount(float64(direct.requests)), r.upstream, strings.Join(direct.samples, "; "))
		if float64(direct.failed)/float64(direct.requests) > MaxErrorRate {
			res.Failure = msg
			return res
		}
		res.Note = msg
	}
	d := perSecond(float64(direct.ok), direct.elapsed)
	res.Extra[extraDirectReqPerSec] = d
	if d > 0 {
		res.Extra[extraVsDirect] = through / d
	}
	return res
}

// rows measures the many-rows route: rows per second. Every response of
// the fixed URL holds the same rows, so the rows of one probe response are
// counted exactly and each successful response is credited with as many; a
// response cut short fails on the client, so it is not credited.
func (r *runner) rows(ctx context.Context) Result {
	url := r.target + r.o.RowsPath
	body, err := get(ctx, r.http, url)
	if err != nil {
		return Result{Scenario: ScenarioRows, Failure: "cannot probe the rows route: " + err.Error()}
	}
	n, err := countArray(body)
	if err != nil || n == 0 {
		why := "it returned no rows"
		if err != nil {
			why = err.Error()
		}
		return Result{Scenario: ScenarioRows, Failure: "the rows route does not answer a JSON array of rows: " + why}
	}
	out := r.attack(ctx, load{name: ScenarioRows, targeter: fixed(url), conns: min(r.o.Connections, DefaultRowsConnections),
		duration: r.o.Duration, profile: true})
	res := r.finish(&out, ScenarioRows)
	if res.Failure == "" {
		res.Metrics[MetricRowsPerSec] = perSecond(float64(out.ok)*float64(n), out.elapsed)
		res.Extra[MetricReqPerSec] = perSecond(float64(out.ok), out.elapsed)
		res.Extra[extraRowsPerReq] = float64(n)
	}
	return res
}

// batchFailed is how a failed entry starts in a /v1/batch response; inside
// a JSON string the quotes would be escaped, so it only matches structure.
var batchFailed = []byte(`{"error":`)

// batch measures POST /v1/batch of BatchSize SELECTs at a fixed rate: the
// p50 time of one batch. A batch with a failed entry counts as failed.
func (r *runner) batch(ctx context.Context) Result {
	check := func(res *vegeta.Result) string {
		if i := bytes.Index(res.Body, batchFailed); i >= 0 {
			return "a batch entry failed: " + clip(res.Body[i:min(len(res.Body), i+200)])
		}
		return ""
	}
	out := r.attack(ctx, load{name: ScenarioBatch, targeter: batchBodies(r.target, r.o.Token, r.o.BatchQuery, r.o.BatchSize, r.o.IDs),
		rate: r.o.BatchRate, conns: min(r.o.Connections, warmConns), duration: r.o.Duration, keepBody: true, check: check, profile: true})
	res := r.finish(&out, ScenarioBatch)
	if res.Failure == "" {
		p50, p99 := latencies(&out.metrics)
		res.Metrics[MetricP50], res.Extra[extraP99] = p50, p99
	}
	return res
}

// finish starts a row from out and keeps its profiling error, if any.
func (r *runner) finish(out *outcome, scenario string) Result {
	if out.profileErr != nil {
		r.errs = append(r.errs, fmt.Errorf("bench: %s: %w", scenario, out.profileErr))
	} else if out.profiles.CPU != "" {
		r.progressf("bench: %s: profiles in %s, %s, flame graph %s", scenario, out.profiles.CPU, out.profiles.Heap, out.profiles.FlameGraph)
	}
	return out.result(scenario)
}

// cachedRouteNote warns when the select route looks cached (a max-age
// Cache-Control), which would make select and peak measure the cache.
func (r *runner) cachedRouteNote(ctx context.Context) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, newIDURL(r.target, r.o.SelectPath).url(1), nil)
	if err != nil {
		return ""
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	cc := resp.Header.Get("Cache-Control")
	if strings.HasPrefix(cc, "max-age=") && cc != "max-age=0" {
		return "the select route answers Cache-Control: " + cc + ", so select and peak probably measure the cache; point --select-path at an uncached route"
	}
	return ""
}
