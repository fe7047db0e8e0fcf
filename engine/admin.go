package engine

import (
	"bytes"
	"context"
	"net/http/pprof"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"github.com/valyala/fasthttp/pprofhandler"

	"github.com/pgfast/pgfast/config"
)

var pprofIndex = fasthttpadaptor.NewFastHTTPHandlerFunc(pprof.Index)

// newAdminServer builds the admin listener's server: metrics, pprof and
// operations, kept off the public port (DESIGN §4).
func (e *Engine) newAdminServer(cfg *config.Config) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:      e.handleAdmin,
		Name:         "pgfast-admin",
		ReadTimeout:  cfg.Server.ReadTimeout.Std(),
		ErrorHandler: e.transportError,
		// pprof's CPU profile holds the connection for its whole duration.
		WriteTimeout:         0,
		NoDefaultContentType: true,
		CloseOnShutdown:      true,
	}
}

func (e *Engine) handleAdmin(ctx *fasthttp.RequestCtx) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("BUG: panic in admin handler", "panic", p)
			writeError(ctx, errInternal())
		}
	}()
	path := string(ctx.Path())
	switch {
	case path == "/":
		serveStatusPage(ctx)
	case path == "/metrics":
		e.serveMetrics(ctx)
	case path == "/debug/pprof/" || path == "/debug/pprof":
		// pprofhandler answers 404 to any path ending in "/", the index
		// included; serve the index through the adaptor ourselves.
		pprofIndex(ctx)
	case strings.HasPrefix(path, "/debug/pprof/"):
		pprofhandler.PprofHandler(ctx)
	case path == "/admin/stats":
		if !ctx.IsGet() {
			writeError(ctx, &Error{Status: 405, Code: codeMethodNotAllowed, Message: "use GET"})
			return
		}
		b, err := json.Marshal(e.Stats())
		if err != nil {
			writeError(ctx, errInternal())
			return
		}
		ctx.SetContentTypeBytes(contentTypeJSON)
		ctx.SetBody(b)
	case path == "/admin/reload":
		if !ctx.IsPost() {
			writeError(ctx, &Error{Status: 405, Code: codeMethodNotAllowed, Message: "use POST"})
			return
		}
		if err := e.Reload(context.Background()); err != nil {
			writeError(ctx, &Error{Status: 400, Code: codeBadRequest, Message: "reload rejected, previous config still serving: " + err.Error()})
			return
		}
		ctx.SetContentTypeBytes(contentTypeJSON)
		ctx.SetBodyString(`{"status":"reloaded"}`)
	case path == "/admin/cache/purge":
		if !ctx.IsPost() {
			writeError(ctx, &Error{Status: 405, Code: codeMethodNotAllowed, Message: "use POST"})
			return
		}
		name := string(ctx.QueryArgs().Peek("route"))
		n, err := e.purge(name)
		if err != nil {
			writeError(ctx, err)
			return
		}
		ctx.SetContentTypeBytes(contentTypeJSON)
		ctx.SetBodyString(`{"status":"purged","routes":` + strconv.Itoa(n) + `}`)
	default:
		writeError(ctx, errNotFound("no admin endpoint "+path))
	}
}

func (e *Engine) serveMetrics(ctx *fasthttp.RequestCtx) {
	families, err := e.metrics.reg.Gather()
	if err != nil {
		e.log.Error("cannot gather metrics", "err", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			e.log.Error("cannot encode metrics", "err", err)
			break
		}
	}
	ctx.SetContentType(string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	ctx.SetBody(buf.Bytes())
}

// purge empties the cache of one route (by name) or, with name "", of all.
func (e *Engine) purge(name string) (int, *Error) {
	if name == "" {
		e.cache.PurgeAll()
		return len(e.state.Load().routes), nil
	}
	for _, rt := range e.state.Load().routes {
		if rt.cfg.Name == name {
			e.cache.PurgeRoute(rt.id)
			return 1, nil
		}
	}
	return 0, errNotFound("no route named " + strconv.Quote(name))
}
