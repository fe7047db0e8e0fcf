// Package engine is pgfast's HTTP side: the fasthttp server, the compiled
// route table, the raw query API, auth, limits, the admin listener, reload
// and graceful shutdown. It is the one package that turns the config into
// the options of pool, cache, limiter and rowcodec.
package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/auditsink"
	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/tracing"
)

// Engine serves one config: the public listener, the admin listener and the
// databases behind them. Create it with New, run Serve and ServeAdmin, stop
// it with Shutdown.
type Engine struct {
	log     *slog.Logger
	audit   *slog.Logger
	metrics *metrics
	// auditSink sends the audit lines to OpenSearch too; nil when
	// log.audit.opensearch is off. Closed last, by Close.
	auditSink *auditsink.Sink
	// cache holds declared routes' bodies; it outlives reloads (a route
	// that did not change keeps its entries).
	cache *cache.Cache
	// limits owns the rate limiters; like the cache, they outlive reloads.
	limits limiters

	// state is the running config compiled (routes, accounts, pools),
	// swapped whole on reload: the one place a request reads config from.
	state  atomic.Pointer[state]
	reload sync.Mutex // one reload at a time
	// stopped is closed by Close: states a reload replaced close at once
	// instead of after their grace period, and Close waits for them.
	stopped  chan struct{}
	retiring sync.WaitGroup
	// reloads is the reload history the status page shows.
	reloads reloadHistory

	load func() (*config.Config, error)

	srv   *fasthttp.Server
	admin *fasthttp.Server

	// inflight is the budget of response bytes held in memory across
	// requests (server.max_inflight_response_bytes).
	inflight inflight
	// spilled counts the bytes of every spool's temporary file.
	spilled inflight
	// streamCounters count slow clients cut, spills and refusals.
	streamCounters streamCounters
	// conns counts open public connections against server.max_conns.
	conns atomic.Int64

	// access holds the access-log writers (log.access), across reloads.
	access accessLogs
	// tracer exports request spans (tracing); nil when tracing is off,
	// which is all a request checks. Read once at start, like log.audit:
	// a reload does not change it. Shut down last, by Close.
	tracer *tracing.Tracer

	closeOnce sync.Once
}

// Options are the engine's runtime dependencies that do not come from the
// config file.
type Options struct {
	// Logger receives operational logs; nil = slog.Default().
	Logger *slog.Logger
	// AuditWriter receives the audit log when the config names no file;
	// nil = os.Stdout.
	AuditWriter io.Writer
	// AccessWriter receives the access log when log.access names no file;
	// nil = os.Stderr, the process log's destination.
	AccessWriter io.Writer
	// Load re-reads the config for Reload (SIGHUP, POST /admin/reload and
	// the file watch); nil disables reload.
	Load func() (*config.Config, error)
}

// New builds an engine for cfg: it opens the database pools, compiles every
// route (preparing its SQL on the database) and builds the servers. A route
// that does not compile is an error naming it.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{log: opts.Logger, load: opts.Load, stopped: make(chan struct{}), access: accessLogs{out: opts.AccessWriter, log: opts.Logger}}
	var err error
	if e.audit, e.auditSink, err = newAudit(cfg, opts, e.log); err != nil {
		return nil, err
	}
	if e.tracer, err = newTracer(cfg, e); err != nil {
		e.auditSink.Close()
		return nil, err
	}
	e.metrics = newMetrics(e)
	e.metrics.reg.MustRegister(&streamCollector{e: e}, &upstreamCollector{e: e}, &scriptCollector{e: e}, &auditCollector{e: e}, &logCollector{e: e})
	c, err := cache.New(cacheOptions(cfg))
	if err != nil {
		e.auditSink.Close()
		e.closeTracer()
		return nil, fmt.Errorf("cache: %w", err)
	}
	e.cache = c
	st, err := buildState(ctx, e, cfg, nil)
	if err != nil {
		c.Close()
		e.auditSink.Close()
		e.closeTracer()
		return nil, err
	}
	e.state.Store(st)
	e.prewarm(st) // cache.prewarm, in the background
	e.srv = e.newServer(cfg, len(routesPast(cfg, int64(cfg.Server.MaxBodyBytes))) > 0)
	e.admin = e.newAdminServer(cfg)
	return e, nil
}

// newServer builds the public fasthttp.Server. stream hands bodies past
// server.max_body_bytes over as streams (fasthttp's StreamRequestBody); it
// is set only when some route takes more than that (routesPast), because a
// streaming server keeps every connection's read buffer for the
// connection's life. Neither it nor MaxRequestBodySize changes on reload
// (warnStreamNeeded).
func (e *Engine) newServer(cfg *config.Config, stream bool) *fasthttp.Server {
	s := cfg.Server
	// Concurrency: server.max_conns is enforced by connLimiter (Serve),
	// which answers the JSON 503; fasthttp's own limit sits well above it
	// because a worker finishes a moment after its connection is counted
	// out, and fasthttp's refusal would be text/plain.
	return &fasthttp.Server{
		Handler:      e.handle,
		ErrorHandler: e.transportError,
		// The Server header is set per response (handle, transportError)
		// instead of by fasthttp, which would write its Name whenever a
		// response has none: a route's response_headers could not remove
		// it.
		NoDefaultServerHeader: true,
		ReadTimeout:           s.ReadTimeout.Std(),
		WriteTimeout:          s.WriteTimeout.Std(),
		IdleTimeout:           s.IdleTimeout.Std(),
		MaxRequestBodySize:    int(s.MaxBodyBytes),
		// With stream, bodies past MaxRequestBodySize arrive as a stream
		// instead of an error: upstream routes forward them (up to their
		// own max_body_bytes) with bounded memory; checkBody bounds the
		// rest. Without it fasthttp reads every body whole and answers
		// 413 (transportError) past MaxRequestBodySize; checkBody bounds
		// the routes that take less.
		StreamRequestBody:             stream,
		DisablePreParseMultipartForm:  true,
		ReadBufferSize:                int(s.MaxHeaderBytes),
		Concurrency:                   2*s.MaxConns + 16,
		DisableHeaderNamesNormalizing: false,
		NoDefaultContentType:          true,
		NoDefaultDate:                 false,
		CloseOnShutdown:               true,
		// A keep-alive connection between requests gives its 4 KiB write
		// buffer and, without StreamRequestBody, its read buffer back to
		// fasthttp's pools. With StreamRequestBody fasthttp keeps the
		// reader for the connection's life (a streamed body may still be
		// reading from it), so each connection holds ReadBufferSize (8 KiB
		// by default) while open: 1000 idle connections hold 8 MB, about
		// 10 MB of peak RSS with the GC's headroom (README, Memory).
		// WriteBufferSize stays fasthttp's 4 KiB: 2 KiB saved about 2 MB
		// of heap but no measurable RSS, and costs large responses more
		// write calls.
		ReduceMemoryUsage: true,
		Logger:            fasthttpLogger{e.log},
	}
}

// Serve answers the public API on ln until Shutdown. At most
// server.max_conns connections are served at once; one more gets a JSON
// 503 with Retry-After and is closed.
func (e *Engine) Serve(ln net.Listener) error {
	cfg := e.cfg()
	if t := cfg.Server.TLS; t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return fmt.Errorf("server.tls: %w", err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}}
		return e.srv.ServeTLS(newConnLimiter(e, ln, cfg.Server.MaxConns, tc), t.CertFile, t.KeyFile)
	}
	return e.srv.Serve(newConnLimiter(e, ln, cfg.Server.MaxConns, nil))
}

// ServeAdmin answers the admin API (metrics, pprof, stats, reload, purge)
// on ln until Shutdown. It must never share the public port.
func (e *Engine) ServeAdmin(ln net.Listener) error { return e.admin.Serve(ln) }

// Shutdown stops accepting connections, lets every request already read
// finish (up to ctx's deadline), then closes the databases. Order: public
// listener, admin listener, background work, pools.
func (e *Engine) Shutdown(ctx context.Context) error {
	var firstErr error
	if err := e.srv.ShutdownWithContext(ctx); err != nil {
		firstErr = fmt.Errorf("cannot drain public listener: %w", err)
	}
	if err := e.admin.ShutdownWithContext(ctx); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("cannot drain admin listener: %w", err)
	}
	// Closing a pool waits for its connections to come back; a response
	// still streaming past the deadline must not hold the process.
	closed := make(chan struct{})
	go func() {
		e.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		if firstErr == nil {
			firstErr = fmt.Errorf("cannot close databases before server.shutdown_timeout: %w", ctx.Err())
		}
	}
	return firstErr
}

// Close releases the databases and background work without draining
// listeners (use Shutdown for that). Idempotent.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		// Under the reload lock: a reload either finished (its retiring
		// state is counted) or sees the engine stopped and refuses.
		e.reload.Lock()
		if e.stopped != nil {
			close(e.stopped)
		}
		e.reload.Unlock()
		e.retiring.Wait()
		if st := e.state.Load(); st != nil {
			st.close()
		}
		if e.cache != nil {
			e.cache.Close()
		}
		e.limits.close()
		e.access.close() // after the listeners: requests still finishing log until here
		// Last: the audit lines and spans of the requests drained above
		// are sent (within the sink's CloseTimeout and
		// tracerShutdownTimeout).
		e.auditSink.Close()
		e.closeTracer()
	})
}

// transportError answers what fasthttp could not parse (oversized body or
// headers, malformed HTTP, timeouts) with the JSON error shape.
func (e *Engine) transportError(ctx *fasthttp.RequestCtx, err error) {
	ctx.Response.Header.SetServerBytes(serverName)
	var tooBig *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, e.errServerBodyTooLarge())
	case errors.As(err, &tooBig):
		writeError(ctx, &Error{Status: 413, Code: codeTooLarge, Message: fmt.Sprintf("request headers exceed server.max_header_bytes (%d bytes)", e.cfg().Server.MaxHeaderBytes)})
	default:
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			writeError(ctx, &Error{Status: 408, Code: codeBadRequest, Message: "request not received within server.read_timeout"})
			return
		}
		writeError(ctx, errBadRequest("malformed HTTP request: "+err.Error()))
	}
	ctx.SetConnectionClose()
}

// errServerBodyTooLarge is fasthttp's refusal of a body past the limit the
// server was started with. That limit holds until a restart: a reload that
// raised server.max_body_bytes, or added a route taking more to a server
// started without streaming, says so here as well as in its warning.
func (e *Engine) errServerBodyTooLarge() *Error {
	limit := int64(e.srv.MaxRequestBodySize)
	msg := fmt.Sprintf("request body exceeds server.max_body_bytes (%d bytes)", limit)
	if e.state.Load().maxBody > limit {
		msg += "; larger bodies need a restart of the server with the current config"
	}
	return &Error{Status: 413, Code: codeTooLarge, Message: msg}
}

// routesPast names the routes whose max_body_bytes is larger than limit
// (Load fills a route's from server.max_body_bytes), in config order.
func routesPast(cfg *config.Config, limit int64) []string {
	var names []string
	for i := range cfg.Routes {
		if int64(cfg.Routes[i].MaxBodyBytes) > limit {
			names = append(names, cfg.Routes[i].Name)
		}
	}
	return names
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "fasthttp")
}

// cfg is the running config.
func (e *Engine) cfg() *config.Config { return e.state.Load().cfg }

// since is how long a request has run, from fasthttp's request start.
func since(ctx *fasthttp.RequestCtx) time.Duration { return time.Since(ctx.Time()) }
