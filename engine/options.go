package engine

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/pool"
)

// poolOptions maps a databases entry to pool.Options.
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
		SlowQuery:            slowQuery(dc.SlowQuery),
		ApplicationName:      dc.ApplicationName,
		Settings:             dc.Settings,
		DescribeOnly:         dc.StatementCache == "describe",
		Logger:               e.log.With("database", name),
		AfterConnect: func(ctx context.Context, conn *pgx.Conn) error {
			return e.prepareRoutes(ctx, name, conn.PgConn())
		},
	}
}

// cacheOptions maps the cache section and server.compression.
func cacheOptions(cfg *config.Config) cache.Options {
	c := cfg.Server.Compression
	return cache.Options{
		MaxBytes:         int64(cfg.Cache.MaxBytes),
		Compress:         c.Enabled,
		CompressMinBytes: int(c.MinBytes),
		GzipLevel:        c.GzipLevel,
		BrotliLevel:      c.BrotliLevel,
	}
}

// slowQuery maps the config's "0 = off" onto pool's "negative = off".
func slowQuery(d config.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d.Std()
}
