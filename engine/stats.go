package engine

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgfast/pgfast/auditsink"
	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/limiter"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/sqlexec"
	"github.com/pgfast/pgfast/upstream"
)

// Stats is the JSON of GET /admin/stats: the same numbers /metrics exports.
type Stats struct {
	Pools map[string]pool.Stats `json:"pools"`
	Cache cache.Stats           `json:"cache"`
	// Limits are the rate limiters' counters by scope ("default",
	// "route:NAME", "account:ID").
	Limits map[string]limiter.Stats `json:"limits"`
	// Accounts are the raw-query accounts by id: their own pools and the
	// weak-role warnings found at start or on the last reload.
	Accounts map[string]AccountStats `json:"accounts"`
	// Streams are the response-memory and slow-client figures.
	Streams StreamStats `json:"streams"`
	// Upstreams are the gateway's upstreams by name: targets with their
	// health, breaker state and counters.
	Upstreams map[string]upstream.Stats `json:"upstreams"`
	// Process is the process's memory now and at its peak.
	Process ProcessStats `json:"process"`
	// Routes are the endpoints' request counts and latency by name.
	Routes map[string]RouteStats `json:"routes"`
	// Reloads are the latest reloads, newest last.
	Reloads []ReloadEvent `json:"reloads"`
	// Audit is the OpenSearch audit sink's counters; absent when
	// log.audit.opensearch is off.
	Audit *auditsink.Stats `json:"audit,omitempty"`
	// Log is the access log's lines written and dropped.
	Log LogStats `json:"log"`
}

// StreamStats is the spool, budget and connection-limit part of Stats.
type StreamStats struct {
	SlowClientsCut    uint64 `json:"slow_clients_cut"`
	Spills            uint64 `json:"spills"`
	SpillBytes        int64  `json:"spill_bytes"`
	InflightBytes     int64  `json:"inflight_bytes"`
	InflightPeakBytes int64  `json:"inflight_peak_bytes"`
	InflightRejected  uint64 `json:"inflight_rejected"`
	ConnsOpen         int64  `json:"conns_open"`
	ConnsRejected     uint64 `json:"conns_rejected"`
}

// AccountStats is one account's entry in Stats.
type AccountStats struct {
	Pool     pool.Stats `json:"pool"`
	Warnings []string   `json:"warnings"`
}

// Stats takes a snapshot of every package's counters.
func (e *Engine) Stats() Stats {
	st := e.state.Load()
	s := Stats{Pools: map[string]pool.Stats{}, Cache: e.cache.Stats(), Limits: map[string]limiter.Stats{}}
	for _, l := range e.limits.snapshot() {
		s.Limits[l.scope] = l.lim.Stats()
	}
	for name, db := range st.dbs {
		s.Pools[name] = db.pool.Stats()
	}
	sc := &e.streamCounters
	used, peak := e.InflightBytes()
	s.Streams = StreamStats{SlowClientsCut: sc.cut.Load(), Spills: sc.spilled.Load(), SpillBytes: e.spilled.used.Load(),
		InflightBytes: used, InflightPeakBytes: peak, InflightRejected: sc.rejected.Load(),
		ConnsOpen: int64(e.conns.Load()), ConnsRejected: sc.connsOver.Load()}
	s.Process = processStats()
	s.Routes = e.metrics.routeStats()
	st.eachCoalescing(func(route string, cs sqlexec.CoalesceStats) {
		rs := s.Routes[route]
		rs.Coalesce = &RouteCoalesce{Runs: cs.Runs, KeyedRuns: cs.Keyed, Requests: cs.Members, Waiting: cs.Waiting}
		s.Routes[route] = rs
	})
	s.Reloads = e.reloads.list()
	s.Upstreams = make(map[string]upstream.Stats, len(st.upstreams))
	for name, gu := range st.upstreams {
		s.Upstreams[name] = gu.up.Stats()
	}
	s.Accounts = make(map[string]AccountStats, len(st.accounts))
	for _, acc := range st.accounts {
		s.Accounts[acc.cfg.ID] = AccountStats{Pool: acc.pool.Stats(), Warnings: append([]string{}, acc.warnings...)}
	}
	s.Audit = e.auditStats()
	s.Log = e.access.stats()
	return s
}

// poolDescs is one family of pool series.
type poolDescs struct {
	max, inUse, idle, acquire, empty, wait, gateWaits, rejected, slow, queries, queryEMA, gateWaiting *prometheus.Desc
}

func newPoolDescs(prefix, label string) *poolDescs {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prefix+name, help, []string{label}, nil)
	}
	return &poolDescs{
		max:         d("max_conns", "Pool size."),
		inUse:       d("in_use", "Connections acquired now."),
		idle:        d("idle", "Idle connections now."),
		acquire:     d("acquire_total", "Connection acquires."),
		empty:       d("empty_acquire_total", "Acquires that found the pool empty past the gate (waited for a connection to open or free up)."),
		wait:        d("acquire_wait_seconds_total", "Time spent waiting to acquire."),
		gateWaits:   d("gate_waits_total", "Acquires that waited at the full gate (max_concurrent_queries)."),
		rejected:    d("rejected_total", "Requests refused with 503 because the gate stayed full for acquire_timeout."),
		slow:        d("slow_queries_total", "Queries slower than the database's slow_query."),
		queries:     d("queries_total", "Queries run."),
		queryEMA:    d("query_seconds_ema", "Moving average of query time."),
		gateWaiting: d("gate_waiting", "Requests waiting at the gate now."),
	}
}

func (d *poolDescs) list() []*prometheus.Desc {
	return []*prometheus.Desc{d.max, d.inUse, d.idle, d.acquire, d.empty, d.wait, d.gateWaits, d.rejected, d.slow, d.queries, d.queryEMA, d.gateWaiting}
}

// collect sends one pool's series, labelled value.
func (d *poolDescs) collect(ch chan<- prometheus.Metric, s pool.Stats, value string) {
	g := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, value)
	}
	cnt := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, value)
	}
	g(d.max, float64(s.MaxConns))
	g(d.inUse, float64(s.InUse))
	g(d.idle, float64(s.Idle))
	cnt(d.acquire, float64(s.AcquireCount))
	cnt(d.empty, float64(s.EmptyAcquireCount))
	cnt(d.wait, s.AcquireWait.Seconds())
	cnt(d.gateWaits, float64(s.GateWaitCount))
	cnt(d.rejected, float64(s.GateRejected))
	cnt(d.slow, float64(s.SlowQueries))
	cnt(d.queries, float64(s.Queries))
	g(d.queryEMA, s.QueryEMA.Seconds())
	g(d.gateWaiting, float64(s.GateWaiting))
}

var (
	// descPools are the databases' pools, pgfast_pool_*{pool="NAME"}.
	descPools = newPoolDescs("pgfast_pool_", "pool")
	// descAccountPools are the accounts' own pools (the ones their /v1/query and
	// /v1/batch run on), pgfast_account_pool_*{account="ID"}: the same series in
	// a family of their own, because pool="account:ID" already names the pool of
	// an account's inline database_url database.
	descAccountPools = newPoolDescs("pgfast_account_pool_", "account")

	descCacheHits      = prometheus.NewDesc("pgfast_cache_hits_total", "Cache lookups that found a fresh body.", nil, nil)
	descCacheMisses    = prometheus.NewDesc("pgfast_cache_misses_total", "Cache lookups that found none.", nil, nil)
	descCacheEvictions = prometheus.NewDesc("pgfast_cache_evictions_total", "Bodies evicted to stay under cache.max_bytes.", nil, nil)
	descCacheSets      = prometheus.NewDesc("pgfast_cache_sets_total", "Bodies stored.", nil, nil)
	descCacheDropped   = prometheus.NewDesc("pgfast_cache_dropped_sets_total", "Bodies the cache declined to store (admission policy or contention).", nil, nil)
	descCacheCoalesced = prometheus.NewDesc("pgfast_cache_coalesced_total", "Requests that waited for another request's query instead of running their own.", nil, nil)
	descCacheStale     = prometheus.NewDesc("pgfast_cache_stale_served_total", "Stale bodies served (stale_if_error, stale_while_revalidate).", nil, nil)
	descCachePurges    = prometheus.NewDesc("pgfast_cache_purges_total", "Route or full purges (NOTIFY, admin).", nil, nil)
	descCacheBytes     = prometheus.NewDesc("pgfast_cache_bytes", "Bytes held by the cache.", nil, nil)
	descCacheMarks     = prometheus.NewDesc("pgfast_cache_stale_marks_total", "Routes marked stale because the NOTIFY listener missed a stretch of time.", nil, nil)

	descRLRejected  = prometheus.NewDesc("pgfast_ratelimit_rejected_total", "Requests refused with 429, by limiter scope.", []string{"scope"}, nil)
	descRLAllowed   = prometheus.NewDesc("pgfast_ratelimit_allowed_total", "Requests a limiter let through, by scope.", []string{"scope"}, nil)
	descRLFallback  = prometheus.NewDesc("pgfast_ratelimit_redis_fallback", "1 while a limiter decides locally because Redis is unavailable.", []string{"scope"}, nil)
	descRLFallbacks = prometheus.NewDesc("pgfast_ratelimit_fallback_decisions_total", "Decisions made locally because Redis was unavailable.", []string{"scope"}, nil)
	descRLRedisErr  = prometheus.NewDesc("pgfast_ratelimit_redis_errors_total", "Redis calls that failed or timed out.", []string{"scope"}, nil)
	descRLKeys      = prometheus.NewDesc("pgfast_ratelimit_keys", "Client keys held in memory.", []string{"scope"}, nil)

	descAccountWarnings = prometheus.NewDesc("pgfast_account_warnings", "Weak-role warnings of a read-only account (superuser, owner or writer role).", []string{"account"}, nil)
)

// statsCollector renders Stats() snapshots at scrape time.
type statsCollector struct{ e *Engine }

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range append(append(descPools.list(), descAccountPools.list()...),
		descCacheHits, descCacheMisses, descCacheEvictions, descCacheSets, descCacheDropped, descCacheCoalesced,
		descCacheStale, descCachePurges, descCacheBytes, descCacheMarks,
		descRLRejected, descRLAllowed, descRLFallback, descRLFallbacks, descRLRedisErr, descRLKeys, descAccountWarnings) {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.e.state.Load()
	if st == nil {
		return
	}
	cs := c.e.cache.Stats()
	for _, m := range []struct {
		d *prometheus.Desc
		v uint64
	}{{descCacheHits, cs.Hits}, {descCacheMisses, cs.Misses}, {descCacheEvictions, cs.Evictions}, {descCacheSets, cs.Sets},
		{descCacheDropped, cs.DroppedSets}, {descCacheCoalesced, cs.Coalesced}, {descCacheStale, cs.StaleServed}, {descCachePurges, cs.Purges},
		{descCacheMarks, cs.StaleMarks}} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v))
	}
	ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(cs.CostUsed))
	for _, l := range c.e.limits.snapshot() {
		ls := l.lim.Stats()
		fb := 0.0
		if ls.FallbackActive {
			fb = 1
		}
		ch <- prometheus.MustNewConstMetric(descRLRejected, prometheus.CounterValue, float64(ls.Rejected), l.scope)
		ch <- prometheus.MustNewConstMetric(descRLAllowed, prometheus.CounterValue, float64(ls.Allowed), l.scope)
		ch <- prometheus.MustNewConstMetric(descRLFallback, prometheus.GaugeValue, fb, l.scope)
		ch <- prometheus.MustNewConstMetric(descRLFallbacks, prometheus.CounterValue, float64(ls.Fallbacks), l.scope)
		ch <- prometheus.MustNewConstMetric(descRLRedisErr, prometheus.CounterValue, float64(ls.RedisErrors), l.scope)
		ch <- prometheus.MustNewConstMetric(descRLKeys, prometheus.GaugeValue, float64(ls.Keys), l.scope)
	}
	for _, acc := range st.accounts {
		ch <- prometheus.MustNewConstMetric(descAccountWarnings, prometheus.GaugeValue, float64(len(acc.warnings)), acc.cfg.ID)
		descAccountPools.collect(ch, acc.pool.Stats(), acc.cfg.ID)
	}
	for name, db := range st.dbs {
		descPools.collect(ch, db.pool.Stats(), name)
	}
}

var (
	descStreamCut      = prometheus.NewDesc("pgfast_stream_slow_clients_cut_total", "Streamed responses cut because the client read slower than server.stream_min_rate.", nil, nil)
	descStreamSpills   = prometheus.NewDesc("pgfast_stream_spills_total", "Streamed responses whose read-ahead spilled to a temporary file.", nil, nil)
	descInflightBytes  = prometheus.NewDesc("pgfast_inflight_response_bytes", "Response bytes held in memory for clients now (server.max_inflight_response_bytes bounds it).", nil, nil)
	descInflightPeak   = prometheus.NewDesc("pgfast_inflight_response_bytes_peak", "The most response bytes held in memory at once since start.", nil, nil)
	descInflightRefuse = prometheus.NewDesc("pgfast_inflight_rejected_total", "Requests refused with 503 because server.max_inflight_response_bytes was taken.", nil, nil)
	descConnsOpen      = prometheus.NewDesc("pgfast_conns_open", "Open public connections (server.max_conns bounds it).", nil, nil)
	descConnsRejected  = prometheus.NewDesc("pgfast_conns_rejected_total", "Connections refused with 503 past server.max_conns.", nil, nil)
)

// streamCollector renders the streamed-response and connection-limit
// counters (inflight.go, connlimit.go).
type streamCollector struct{ e *Engine }

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStreamCut, descStreamSpills, descInflightBytes, descInflightPeak,
		descInflightRefuse, descConnsOpen, descConnsRejected} {
		ch <- d
	}
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	sc := &c.e.streamCounters
	used, peak := c.e.InflightBytes()
	for _, m := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v float64
	}{{descStreamCut, prometheus.CounterValue, float64(sc.cut.Load())}, {descStreamSpills, prometheus.CounterValue, float64(sc.spilled.Load())},
		{descInflightBytes, prometheus.GaugeValue, float64(used)}, {descInflightPeak, prometheus.GaugeValue, float64(peak)},
		{descInflightRefuse, prometheus.CounterValue, float64(sc.rejected.Load())}, {descConnsOpen, prometheus.GaugeValue, float64(c.e.conns.Load())},
		{descConnsRejected, prometheus.CounterValue, float64(sc.connsOver.Load())}} {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v)
	}
}
