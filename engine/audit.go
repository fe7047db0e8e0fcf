package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgfast/pgfast/auditsink"
	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/sqlclass"
)

// newAudit builds the audit logger: slog JSON lines to log.audit.file (or
// opts.AuditWriter, or stdout) and, with log.audit.opensearch, the same
// bytes to the OpenSearch sink too. The sink is an extra copy: a line it
// drops is still in the local log. Both are made once, in New: a reload
// changes neither (log.audit.routes, read per state, does follow one).
func newAudit(cfg *config.Config, opts Options, log *slog.Logger) (*slog.Logger, *auditsink.Sink, error) {
	w := opts.AuditWriter
	if w == nil {
		w = os.Stdout
	}
	a := cfg.Log.Audit
	if a.File != "" {
		f, err := os.OpenFile(a.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot open audit log %s: %w", a.File, err)
		}
		w = f
	}
	var sink *auditsink.Sink
	if o := a.OpenSearch; o.Enabled() {
		var err error
		sink, err = auditsink.New(auditsink.Options{
			URL: o.URL, Token: o.Token.Value(), Index: o.Index, Batch: o.Batch,
			FlushInterval: o.FlushInterval.Std(), Logger: log.With("component", "audit-opensearch"),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("log.audit.opensearch: %w", err)
		}
		w = teeWriter{w: w, sink: sink}
	}
	return slog.New(slog.NewJSONHandler(w, nil)), sink, nil
}

// teeWriter writes each audit line locally, then hands the same bytes to
// the sink. slog's JSON handler writes one whole line per Write, under its
// lock, so each Write is one document; the sink copies it and never blocks.
type teeWriter struct {
	w    io.Writer
	sink *auditsink.Sink
}

func (t teeWriter) Write(p []byte) (int, error) {
	t.sink.Enqueue(p)
	return t.w.Write(p)
}

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
	line := auditLines.Get().(*auditLine)
	line.ms.v = float64(d.Microseconds()) / 1000
	attrs := append(line.attrs[:0],
		slog.String("account", acc.cfg.ID),
		slog.String("fingerprint", hash),
		slog.String("statement", normalized),
		slog.Any("duration_ms", &line.ms),
		slog.Int64("rows", rows),
	)
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
	e.audit.LogAttrs(context.Background(), slog.LevelInfo, "query", slog.Attr{Value: slog.GroupValue(attrs...)})
	clear(attrs) // the strings are the caller's
	auditLines.Put(line)
}

// auditLine holds the attrs of one query audit line. A slog.Record keeps
// five attrs in itself and allocates room for more; the line has up to
// nine, so they go as one group with an empty key, which a handler writes
// inline (slog.Handler's contract: "If a group's key is empty, inline the
// group's Attrs"): the same line. The record refers to the array, which
// is why it is pooled rather than on the stack; the JSON handler is done
// with it when LogAttrs returns.
type auditLine struct {
	attrs [9]slog.Attr
	ms    jsonFloat
}

// jsonFloat writes a float64 as json.Marshal does, which is how slog's
// JSON handler writes a slog.Float64, but through a pointer: the handler
// boxes a float64 into an any for json.Marshal (an allocation), not a
// pointer that is already a json.Marshaler.
type jsonFloat struct {
	v   float64
	buf [32]byte
}

func (f *jsonFloat) MarshalJSON() ([]byte, error) {
	if a := math.Abs(f.v); a != 0 && (a < 1e-6 || a >= 1e21) || math.IsNaN(f.v) {
		return json.Marshal(f.v) // exponent form or error: not a duration in ms
	}
	return strconv.AppendFloat(f.buf[:0], f.v, 'f', -1, 64), nil
}

var auditLines = sync.Pool{New: func() any { return new(auditLine) }}

// auditRoute writes one audit line for a declared route's request
// (log.audit.routes: true), once its response is final: the route, its
// status and duration, and its params as a count (or their values with
// log.audit_params). The account or the JWT subject names the caller when
// the route authenticates. Called from finish, before r is released.
func (e *Engine) auditRoute(r *request) {
	status := r.ctx.Response.StatusCode()
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("route", r.ep.name),
		slog.String("method", string(r.ctx.Method())),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(since(r.ctx).Microseconds())/1000),
	)
	if r.acc != nil {
		attrs = append(attrs, slog.String("account", r.acc.cfg.ID))
	}
	if r.claims != nil {
		if sub, ok := r.claims.Claim("sub"); ok {
			attrs = append(attrs, slog.String("sub", string(sub)))
		}
	}
	args := r.values.args()
	if r.st.cfg.Log.AuditParams {
		vals := make([]any, len(args))
		for i, v := range args {
			if v != nil {
				vals[i] = string(v)
			}
		}
		attrs = append(attrs, slog.Any("params", vals))
	} else {
		attrs = append(attrs, slog.Int("params_redacted", len(args)))
	}
	outcome := "ok"
	if status >= 400 {
		outcome = "error"
	}
	attrs = append(attrs, slog.String("outcome", outcome))
	if r.reqIDLen > 0 {
		attrs = append(attrs, slog.String("request_id", string(r.reqID[:r.reqIDLen])))
	}
	e.audit.LogAttrs(context.Background(), slog.LevelInfo, "route", attrs...)
}

// slowLog is a sqlexec.DB's SlowLog: one `slow query` line on the engine's
// log per execution past the database's slow_query, naming its
// fingerprint (literals removed: a slow statement's text may hold
// secrets), the route or the account, the database and the duration.
// Fingerprinting parses the statement: it costs tens of µs, paid only by
// statements that already took slow_query.
func (e *Engine) slowLog(database, account string) func(label, sql string, took time.Duration) {
	log := e.log.With("database", database)
	return func(route, sql string, took time.Duration) {
		attrs := make([]slog.Attr, 0, 5)
		attrs = append(attrs, slog.Float64("duration_ms", float64(took.Microseconds())/1000))
		if route != "" {
			attrs = append(attrs, slog.String("route", route))
		}
		if account != "" {
			attrs = append(attrs, slog.String("account", account))
		}
		if sql != "" {
			hash, normalized := sqlclass.Fingerprint(sql)
			attrs = append(attrs, slog.String("fingerprint", hash), slog.String("statement", normalized))
		} else {
			attrs = append(attrs, slog.String("statement", "(batch)"))
		}
		log.LogAttrs(context.Background(), slog.LevelWarn, "slow query", attrs...)
	}
}

// auditStats is the OpenSearch sink's part of Stats; nil without a sink.
func (e *Engine) auditStats() *auditsink.Stats {
	if e.auditSink == nil {
		return nil
	}
	s := e.auditSink.Stats()
	return &s
}

var (
	descAuditSent     = prometheus.NewDesc("pgfast_audit_sent_total", "Audit lines the OpenSearch sink delivered.", nil, nil)
	descAuditDropped  = prometheus.NewDesc("pgfast_audit_dropped_total", "Audit lines the OpenSearch sink dropped unsent: its buffer was full (they are still in the local audit log).", nil, nil)
	descAuditFailed   = prometheus.NewDesc("pgfast_audit_failed_total", "Audit lines OpenSearch refused for good or still refused after the retries.", nil, nil)
	descAuditRetries  = prometheus.NewDesc("pgfast_audit_retries_total", "_bulk requests the OpenSearch sink sent again (429, 5xx, network errors).", nil, nil)
	descAuditBuffered = prometheus.NewDesc("pgfast_audit_buffered_bytes", "Bytes of audit lines the OpenSearch sink holds now.", nil, nil)
)

// auditCollector renders the sink's Stats at scrape time; it reports
// nothing when log.audit.opensearch is off.
type auditCollector struct{ e *Engine }

func (c *auditCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAuditSent, descAuditDropped, descAuditFailed, descAuditRetries, descAuditBuffered} {
		ch <- d
	}
}

func (c *auditCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.e.auditStats()
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descAuditSent, prometheus.CounterValue, float64(s.Sent))
	ch <- prometheus.MustNewConstMetric(descAuditDropped, prometheus.CounterValue, float64(s.Dropped))
	ch <- prometheus.MustNewConstMetric(descAuditFailed, prometheus.CounterValue, float64(s.Failed))
	ch <- prometheus.MustNewConstMetric(descAuditRetries, prometheus.CounterValue, float64(s.Retries))
	ch <- prometheus.MustNewConstMetric(descAuditBuffered, prometheus.GaugeValue, float64(s.Buffered))
}
