package engine

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/embedpg/pgtest"
	"github.com/pgfast/pgfast/sqlclass"
)

// auditQueryAsBefore writes a query audit line the way auditQuery did
// before its attrs were pooled and grouped: plain attrs, duration_ms as a
// slog.Float64. It is the oracle the pooled line must match byte for byte.
func auditQueryAsBefore(log *slog.Logger, auditParams bool, acc *account, sql string, params []any, d time.Duration, rows int64, err error) {
	hash, normalized := sqlclass.Fingerprint(sql)
	attrs := []slog.Attr{
		slog.String("account", acc.cfg.ID),
		slog.String("fingerprint", hash),
		slog.String("statement", normalized),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.Int64("rows", rows),
	}
	if auditParams {
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
	log.LogAttrs(context.Background(), slog.LevelInfo, "query", attrs...)
}

var auditTime = regexp.MustCompile(`"time":"[^"]*",`)

// TestAuditQueryLineUnchanged: the pooled, grouped audit line is the line
// the plain attrs wrote, for every outcome, with and without params.
func TestAuditQueryLineUnchanged(t *testing.T) {
	dbURL := pgtest.NewDatabase(t, "")
	acc := &account{cfg: config.Account{ID: "reader \"quoted\""}}
	pgErr := &Error{Status: 400, Code: codeBadRequest, Message: "bad", SQLState: "42601"}
	for _, auditParams := range []bool{false, true} {
		cfg := parseConfig(t, "log: {audit_params: "+map[bool]string{false: "false", true: "true"}[auditParams]+"}\n")
		ts := startServer(t, cfg, dbURL)
		var got, want bytes.Buffer
		ts.e.audit = slog.New(slog.NewJSONHandler(&got, nil))
		before := slog.New(slog.NewJSONHandler(&want, nil))
		f := func(sql string, params []any, d time.Duration, rows int64, err error) {
			t.Helper()
			got.Reset()
			want.Reset()
			ts.e.auditQuery(acc, sql, params, d, rows, err)
			auditQueryAsBefore(before, auditParams, acc, sql, params, d, rows, err)
			g, w := auditTime.ReplaceAllString(got.String(), ""), auditTime.ReplaceAllString(want.String(), "")
			if g != w {
				t.Errorf("audit_params %v, %q:\n got  %s want %s", auditParams, sql, g, w)
			}
		}
		f("SELECT 1", nil, 0, 1, nil)
		f("SELECT $1, $2", []any{"a<b>&", true}, 1500*time.Microsecond, 2, nil)
		f("SELECT $1", []any{}, 123456*time.Microsecond, 0, nil)
		f("SELECT $1::numeric", []any{nil, map[string]any{"k": []any{1.5}}}, 2*time.Hour+time.Microsecond, 1<<40, nil)
		f("SELEC 1", nil, time.Microsecond, 0, pgErr)
		f("SELECT pg_sleep(1)", nil, 999*time.Millisecond, 0, errors.New("plain error"))
	}
}
