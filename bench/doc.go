// Package bench is pgfast's load harness: it replays the README's benchmark
// table (DESIGN §8) against a running pgfast, or against one it starts in
// process on a throwaway PostgreSQL, and fails on errors and regressions.
//
// Load comes from vegeta used as a library: one attacker per scenario, with
// its connection and worker options, custom targeters (uniform random ids,
// Zipf-distributed keys for the cache, generated /v1/batch bodies) and
// vegeta's Metrics for the latency percentiles. The cache hit rate and the
// pool efficiency come from the admin listener's /admin/stats, read before
// and after the load; profiles come from its /debug/pprof, and the flame
// graph is drawn here from the CPU profile (Fold, WriteFlameGraph). The
// proxy scenario's upstream is a small net/http server of this package in
// standalone mode, or the one Options.ProxyUpstream names for a target.
//
// The select and peak rows are also divided by the composed limit
// 1/(1/H + 1/D) (Limit): H is ping's req/s, D the route's statement run by
// pgbench straight against PostgreSQL with the main pool's connection count,
// both measured in the same run.
//
// The scenarios:
//
//	select  GET SelectPath with random ids at Rate req/s: p50, p99
//	peak    the same with Connections clients as fast as they go: req/s
//	cached  GET CachedPath, Zipf keys, Connections clients, warm cache: req/s, hit rate
//	proxy   GET ProxyPath+"x" through an upstream route, then the upstream directly: req/s, ratio
//	rows    GET RowsPath (1000 rows of ~1 KB): rows/s
//	batch   POST /v1/batch of BatchSize SELECTs at BatchRate/s: p50
//	pool    1 - empty acquires / acquires of the main pool during peak
//	memory  the target's peak RSS during peak, polled from /admin/stats
//	ping    GET /ping with Connections clients: the HTTP ceiling
//
// Run's error depends on failures and regressions only, never on the
// README's targets: those come from an 8-core machine, and the report names
// the machine it ran on so that its numbers are read honestly.
package bench
