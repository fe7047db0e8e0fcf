package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/pgfast/pgfast/sqlclass"
)

// auditQuery writes one audit line per raw query: who ran what shape of
// statement, how long it took, how many rows, and how it ended. The
// statement appears only as its fingerprint (literals removed) and params
// only when log.audit_params is on: either may hold secrets. Tokens are
// never logged.
func (e *Engine) auditQuery(acc *account, sql string, params []any, d time.Duration, rows int64, err error) {
	if !e.audit.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	hash, normalized := sqlclass.Fingerprint(sql)
	attrs := []slog.Attr{
		slog.String("account", acc.cfg.ID),
		slog.String("fingerprint", hash),
		slog.String("statement", normalized),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.Int64("rows", rows),
	}
	if e.cfg().Log.AuditParams {
		attrs = append(attrs, slog.Any("params", params))
	} else {
		attrs = append(attrs, slog.Int("params_redacted", len(params)))
	}
	if err != nil {
		he := errorFrom(err)
		attrs = append(attrs, slog.String("outcome", he.Code), slog.Int("status", he.Status))
		if he.SQLState != "" {
			attrs = append(attrs, slog.String("sqlstate", he.SQLState))
		}
	} else {
		attrs = append(attrs, slog.String("outcome", "ok"), slog.Int("status", 200))
	}
	e.audit.LogAttrs(context.Background(), slog.LevelInfo, "query", attrs...)
}
