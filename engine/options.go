package engine

import (
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
		SlowQuery:            dc.SlowQuery.Std(),
		ApplicationName:      dc.ApplicationName,
		Settings:             dc.Settings,
		DescribeOnly:         dc.StatementCache == "describe",
		Logger:               e.log.With("database", name),
	}
}
