package engine

import (
	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/pool"
	"github.com/pgfast/pgfast/sqlexec"
)

// poolOptions maps a databases entry to pool.Options. Every value passes
// straight through: the defaults are config's (config.NewDatabase), and
// pool reads each zero the way config documents it (slow_query 0 = off,
// acquire_timeout 0 = refuse at once), so nothing is translated here.
func poolOptions(name string, dc *config.Database, e *Engine) pool.Options {
	return pool.Options{
		Name:                 name,
		URL:                  dc.URL.Value(),
		MaxConns:             int32(dc.MaxConns),
		MinConns:             int32(dc.MinConns),
		MaxConcurrentQueries: dc.MaxConcurrentQueries,
		AcquireTimeout:       dc.AcquireTimeout.Std(),
		StatementTimeout:     dc.StatementTimeout.Std(),
		ConnectTimeout:       dc.ConnectTimeout.Std(),
		SlowQuery:            dc.SlowQuery.Std(),
		MaxConnIdleTime:      dc.IdleTimeout.Std(),
		MaxConnLifetime:      dc.MaxLifetime.Std(),
		HealthCheckPeriod:    dc.HealthCheckPeriod.Std(),
		ApplicationName:      dc.ApplicationName,
		Settings:             dc.Settings,
		DescribeOnly:         dc.StatementCache == "describe",
		Logger:               e.log.With("database", name),
		// A new connection prepares every route statement of its database.
		AfterConnect: sqlexec.AfterConnect(func() []*sqlexec.Statement { return e.statementsOf(name) }, e.log.With("database", name)),
	}
}

// cacheOptions maps the cache section and server.compression. Every value
// passes through as configured (defaults filled and checked by config): cache
// has no defaults of its own for these, so min_bytes 0 compresses every body
// and brotli_level 0 is brotli's fastest quality. MaxKeys comes from the route
// table (cacheKeys), so a config that caches little gets a small TinyLFU
// sketch instead of one sized for a cache.max_bytes it never fills.
//
// The cache is made once, in New, and a reload keeps it: a reload that adds
// cached routes keeps the sketch sized for the routes pgfast started with.
// More keys than it was sized for only share counters (admission gets less
// accurate); a restart sizes it again.
func cacheOptions(cfg *config.Config) cache.Options {
	c := cfg.Server.Compression
	return cache.Options{
		MaxBytes:         int64(cfg.Cache.MaxBytes),
		MaxKeys:          cacheKeys(cfg.Routes),
		Compress:         c.Enabled,
		CompressMinBytes: int(c.MinBytes),
		GzipLevel:        c.GzipLevel,
		BrotliLevel:      c.BrotliLevel,
	}
}

// cacheKeys bounds the distinct cache keys the routes can produce, for
// cache.Options.MaxKeys: one per cached sql route whose key takes no param
// (compileCache keys by cache_key, or by every param when it is empty), and 1
// when no route caches. It returns 0, unknown, as soon as one cached route
// keys by a request value (a param, or the whole request on other backends):
// then only cache.max_bytes bounds the keys.
func cacheKeys(routes []config.Route) int64 {
	var n int64
	for i := range routes {
		r := &routes[i]
		if r.Cache <= 0 {
			continue
		}
		if r.Backend() != config.BackendSQL || len(r.CacheKey) > 0 || len(r.Params) > 0 {
			return 0
		}
		n++
	}
	return max(n, 1)
}
