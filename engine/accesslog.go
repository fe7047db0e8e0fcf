package engine

import (
	"fmt"
	"net/netip"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/config"
)

// The access log (log.access, DESIGN §7): one line per request, built in
// the handler into a pooled buffer and handed to an asyncWriter, whose one
// goroutine writes it. A request never waits for the disk: when the
// writer's queue is full the line is dropped and counted
// (pgfast_log_dropped_total), never silently lost.

var descLogDropped = prometheus.NewDesc("pgfast_log_dropped_total",
	"Log lines dropped: the writer's queue was full (a slow disk), a write failed, or the engine closed.", []string{"log"}, nil)

// logCollector renders the access log's drop counter.
type logCollector struct{ e *Engine }

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descLogDropped }

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descLogDropped, prometheus.CounterValue, float64(c.e.access.stats().AccessDropped), "access")
}

// accessLogger is log.access compiled for one load: the format and the
// writer of its destination.
type accessLogger struct {
	parts []accessPart // nil: JSON
	w     *asyncWriter
}

// accessField is what a template placeholder names.
type accessField uint8

const (
	afLiteral accessField = iota
	afMethod
	afPath
	afStatus
	afBytes
	afDuration
	afClientIP
	afRoute
	afAccount
	afCache
	afUpstream
	afRequestID
	afHeader
)

var accessFieldByName = map[string]accessField{
	"method": afMethod, "path": afPath, "status": afStatus, "bytes": afBytes, "duration_ms": afDuration,
	"client_ip": afClientIP, "route": afRoute, "account": afAccount, "cache": afCache,
	"upstream": afUpstream, "request_id": afRequestID,
}

type accessPart struct {
	field   accessField
	literal []byte // afLiteral's text; afHeader's canonical name
}

// newAccessLogger compiles cfg (nil when the log is off) and opens its
// destination.
func (e *Engine) newAccessLogger(cfg config.AccessLog) (*accessLogger, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	tps, err := config.ParseAccessFormat(cfg.Format)
	if err != nil {
		return nil, fmt.Errorf("log.access.format: %w", err)
	}
	l := &accessLogger{}
	for _, tp := range tps {
		switch tp.Source {
		case "":
			l.parts = append(l.parts, accessPart{literal: []byte(tp.Literal)})
		case config.SourceHeader:
			l.parts = append(l.parts, accessPart{field: afHeader, literal: []byte(canonicalHeader(tp.Name))})
		default:
			f, ok := accessFieldByName[tp.Source]
			if !ok {
				return nil, fmt.Errorf("BUG: log.access.format: no access field %q", tp.Source)
			}
			l.parts = append(l.parts, accessPart{field: f})
		}
	}
	if l.w, err = e.access.writer(cfg.File); err != nil {
		return nil, err
	}
	return l, nil
}

// cacheOutcome is what the cache stage did for a request ({cache}).
type cacheOutcome uint8

const (
	cacheNone   cacheOutcome = iota // the route does not cache
	cacheHit                        // a fresh entry answered
	cacheMiss                       // the backend ran (or another request's fill was awaited)
	cacheStale                      // a stale entry answered (stale_while_revalidate, stale_if_error)
	cacheBypass                     // not cacheable: a method other than GET/HEAD, or a key too large to cache
)

var cacheOutcomeNames = [...][]byte{cacheNone: nil, cacheHit: []byte("HIT"), cacheMiss: []byte("MISS"), cacheStale: []byte("STALE"), cacheBypass: []byte("BYPASS")}

// log builds r's line and queues it. It allocates nothing in the steady
// state: the line is a pooled buffer and every field is appended.
func (l *accessLogger) log(r *request) {
	line := getLine()
	if l.parts == nil {
		line.b = appendAccessJSON(line.b, r)
	} else {
		line.b = l.appendTemplate(line.b, r)
	}
	line.b = append(line.b, '\n')
	l.w.write(line)
}

// appendAccessJSON appends r's line as JSON: the keys of the template
// fields (unset ones left out) after time, level and msg, as the process
// log's lines start.
func appendAccessJSON(dst []byte, r *request) []byte {
	dst = append(dst, `{"time":"`...)
	dst = time.Now().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","level":"INFO","msg":"access","method":`...)
	dst = appendJSONString(dst, r.ctx.Method())
	dst = append(dst, `,"path":`...)
	dst = appendJSONString(dst, r.ctx.Path())
	dst = append(dst, `,"route":`...)
	dst = appendJSONString(dst, routeName(r))
	dst = append(dst, `,"status":`...)
	dst = fasthttp.AppendUint(dst, r.ctx.Response.StatusCode())
	if n := responseBytes(r); n >= 0 {
		dst = append(dst, `,"bytes":`...)
		dst = fasthttp.AppendUint(dst, n)
	}
	dst = append(dst, `,"duration_ms":`...)
	dst = appendMillis(dst, since(r.ctx))
	dst = append(dst, `,"client_ip":"`...)
	dst = appendClientIP(dst, r)
	dst = append(dst, `","request_id":`...)
	dst = appendJSONString(dst, r.requestID())
	if r.acc != nil {
		dst = append(dst, `,"account":`...)
		dst = appendJSONString(dst, r.acc.idBytes)
	}
	if c := cacheOutcomeNames[r.cache]; c != nil {
		dst = append(dst, `,"cache":"`...)
		dst = append(dst, c...)
		dst = append(dst, '"')
	}
	if r.upstream != "" {
		dst = append(dst, `,"upstream":`...)
		dst = appendJSONString(dst, strBytes(r.upstream))
		dst = append(dst, `,"target":`...)
		dst = appendJSONString(dst, strBytes(r.target))
	}
	return append(dst, '}')
}

// appendTemplate appends r's line in the template's format; an unset
// field is "-", and request-controlled bytes are escaped (appendLogText).
func (l *accessLogger) appendTemplate(dst []byte, r *request) []byte {
	for i := range l.parts {
		p := &l.parts[i]
		switch p.field {
		case afLiteral:
			dst = append(dst, p.literal...)
		case afMethod:
			dst = appendLogText(dst, r.ctx.Method())
		case afPath:
			dst = appendLogText(dst, r.ctx.Path())
		case afStatus:
			dst = fasthttp.AppendUint(dst, r.ctx.Response.StatusCode())
		case afBytes:
			if n := responseBytes(r); n >= 0 {
				dst = fasthttp.AppendUint(dst, n)
			} else {
				dst = append(dst, '-')
			}
		case afDuration:
			dst = appendMillis(dst, since(r.ctx))
		case afClientIP:
			dst = appendClientIP(dst, r)
		case afRoute:
			dst = appendLogText(dst, routeName(r))
		case afAccount:
			if r.acc != nil {
				dst = appendLogText(dst, r.acc.idBytes)
			} else {
				dst = append(dst, '-')
			}
		case afCache:
			if c := cacheOutcomeNames[r.cache]; c != nil {
				dst = append(dst, c...)
			} else {
				dst = append(dst, '-')
			}
		case afUpstream:
			if r.upstream != "" {
				dst = appendLogText(dst, strBytes(r.upstream))
			} else {
				dst = append(dst, '-')
			}
		case afRequestID:
			dst = appendLogText(dst, r.requestID()) // a trusted proxy's may hold " or \
		case afHeader:
			if v := r.ctx.Request.Header.PeekCanonical(p.literal); len(v) > 0 {
				dst = appendLogText(dst, v)
			} else {
				dst = append(dst, '-')
			}
		}
	}
	return dst
}

func routeName(r *request) []byte {
	if r.ep != nil {
		return strBytes(r.ep.name)
	}
	return strBytes(endpointUnknown)
}

// responseBytes is the body's length, or -1 for a streamed body of unknown
// length: the line is written when the handler returns, before a stream is
// sent (and Response.Body would read the stream whole).
func responseBytes(r *request) int {
	resp := &r.ctx.Response
	if resp.IsBodyStream() {
		return max(resp.Header.ContentLength(), -1)
	}
	return len(resp.Body())
}

// appendClientIP appends the client's address as limits.trusted_proxies
// tells it (X-Forwarded-For from a trusted proxy, else the peer).
func appendClientIP(dst []byte, r *request) []byte {
	r.keyBuf = clientIP(r.ctx, r.st.trusted, r.keyBuf)
	a, ok := netip.AddrFromSlice(r.keyBuf)
	if !ok {
		return append(dst, '-')
	}
	return a.Unmap().AppendTo(dst)
}

// strBytes views s as bytes, for appending only: the bytes must never be
// changed (they are the string's).
func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// appendLogText appends b for a text line as nginx does: printable ASCII
// as is, and ", \ and every other byte as \xHH, so a request cannot forge
// a line or break a quoted field.
func appendLogText(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			continue
		}
		return appendLogTextSlow(dst, b)
	}
	return append(dst, b...)
}

func appendLogTextSlow(dst, b []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
	}
	return dst
}

// appendJSONString appends b as a JSON string; invalid UTF-8 becomes
// U+FFFD, so the line stays valid JSON whatever the request held.
func appendJSONString(dst, b []byte) []byte {
	dst = append(dst, '"')
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return append(appendJSONSlow(dst, b), '"')
		}
	}
	dst = append(dst, b...)
	return append(dst, '"')
}

func appendJSONSlow(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < 0x80:
			dst = append(dst, c)
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, b[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return dst
}
