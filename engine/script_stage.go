package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/config"
	"github.com/pgfast/pgfast/script"
)

// The script stage runs a route's Lua around the rest of the pipeline:
// on_request after auth and limits (so req.jwt is the verified token's
// claims) and before params, cache and backend (so a changed path or body
// is what they see); on_response once the backend or the cache answered,
// on every response, cached ones included.

// compileScript compiles a route's script, once per config load; a syntax
// error is a config error naming the file and line.
func compileScript(e *Engine, rc *config.Route, limits config.ScriptLimits) (*script.Script, error) {
	s, err := script.Compile(script.Options{
		Name:           rc.Name,
		File:           rc.Script,
		Timeout:        limits.Timeout.Std(),
		MaxMemoryBytes: int(limits.MaxMemoryBytes),
		Logger:         scriptLogger(e, rc),
	})
	if err != nil {
		return nil, fmt.Errorf("script: %w", err)
	}
	return s, nil
}

// maxScriptedBody bounds a streamed response that on_response must see
// whole.
const maxScriptedBody = 8 << 20

// onRequest runs the script's on_request; done means it answered.
func (ep *endpoint) onRequest(r *request) (done bool, err error) {
	if err := bufferScriptBody(r, ep); err != nil {
		return false, err
	}
	req := r.scriptRequest(ep)
	ans, err := ep.script.OnRequest(context.Background(), req)
	if err != nil {
		return false, ep.scriptFailed(r, err)
	}
	r.applyScriptRequest(req)
	if ans == nil {
		return false, nil
	}
	status := ans.Status
	if status == 0 {
		status = fasthttp.StatusOK
	}
	h := &r.ctx.Response.Header
	for k, v := range ans.Headers {
		h.Set(k, v)
	}
	r.ctx.SetStatusCode(status)
	r.ctx.Response.SetBody(ans.Body)
	return true, nil
}

// bufferScriptBody reads an upstream route's streamed request body, bounded
// by the route's max_body_bytes, so that on_request sees it whole (and the
// upstream then gets what the script left).
func bufferScriptBody(r *request, ep *endpoint) error {
	if !ep.streamsBody || !r.ctx.Request.IsBodyStream() {
		return nil
	}
	limit := ep.maxBody
	if limit <= 0 {
		limit = int64(r.st.cfg.Server.MaxBodyBytes)
	}
	body, err := io.ReadAll(io.LimitReader(r.ctx.RequestBodyStream(), limit+1))
	if err != nil {
		return errBadRequest("cannot read the request body: " + err.Error())
	}
	if int64(len(body)) > limit {
		return errBodyTooLarge(limit)
	}
	r.ctx.Request.SetBodyRaw(body)
	return nil
}

// onResponse runs the script's on_response on the answer in r.ctx.
func (ep *endpoint) onResponse(r *request) error {
	resp := &r.ctx.Response
	if resp.IsBodyStream() {
		// The script sees a body whole: read a streamed one, bounded.
		body, err := io.ReadAll(io.LimitReader(resp.BodyStream(), maxScriptedBody+1))
		resp.CloseBodyStream()
		if err != nil {
			return fmt.Errorf("script: cannot read the response for on_response: %w", err)
		}
		if len(body) > maxScriptedBody {
			return &Error{Status: 500, Code: codeInternal, Message: fmt.Sprintf("response too large for the route's on_response (over %d MiB)", maxScriptedBody>>20)}
		}
		resp.SetBody(body)
	}
	res := &script.Response{Status: resp.StatusCode(), Headers: respHeaderAccess{&resp.Header}, Body: resp.Body()}
	before := res.Body
	if err := ep.script.OnResponse(context.Background(), r.scriptRequest(ep), res); err != nil {
		return ep.scriptFailed(r, err)
	}
	r.ctx.SetStatusCode(res.Status)
	if !sameSlice(res.Body, before) {
		resp.SetBody(res.Body)
	}
	return nil
}

// scriptFailed logs a script's failure with its Lua line and answers 500.
func (ep *endpoint) scriptFailed(r *request, err error) error {
	var se *script.Error
	if errors.As(err, &se) {
		ep.scriptLog.Error("route script failed", "file", se.File, "line", se.Line, "kind", se.Kind, "err", se.Msg)
	} else {
		ep.scriptLog.Error("route script failed", "err", err)
	}
	return &Error{Status: 500, Code: codeInternal, Message: "the route's script failed; see the server log"}
}

// scriptRequest is the script's view of r, built per call (the pooled
// state points at it only during the call).
func (r *request) scriptRequest(ep *endpoint) *script.Request {
	sr := &r.scriptReq
	*sr = script.Request{
		Method:  b2s(r.ctx.Method()),
		Path:    string(r.ctx.Path()),
		Query:   queryAccess{r.ctx.QueryArgs()},
		Headers: reqHeaderAccess{&r.ctx.Request.Header},
		IP:      r.ctx.RemoteIP().String(),
		Route:   ep.name,
	}
	if !r.ctx.Request.IsBodyStream() {
		// A streamed body (an upstream route's, not buffered for
		// on_request) is the upstream's to read: the script sees none.
		sr.Body = r.ctx.Request.Body()
	}
	if r.claims != nil {
		sr.JWT = map[string]any{}
		for k, v := range r.claims.All() {
			sr.JWT[k] = string(v)
		}
	}
	return sr
}

// applyScriptRequest carries on_request's changes of path and body into
// the request the rest of the pipeline reads.
func (r *request) applyScriptRequest(sr *script.Request) {
	if sr.Path != b2s(r.ctx.Path()) {
		r.ctx.URI().SetPath(sr.Path)
	}
	if !sameSlice(sr.Body, r.ctx.Request.Body()) {
		r.ctx.Request.SetBody(sr.Body)
		r.body = nil // a body param is read from the new body
	}
}

func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0] || bytes.Equal(a, b))
}

type reqHeaderAccess struct{ h *fasthttp.RequestHeader }

func (a reqHeaderAccess) Get(k string) string { return string(a.h.Peek(k)) }
func (a reqHeaderAccess) Set(k, v string)     { a.h.Set(k, v) }
func (a reqHeaderAccess) Del(k string)        { a.h.Del(k) }

type respHeaderAccess struct{ h *fasthttp.ResponseHeader }

func (a respHeaderAccess) Get(k string) string { return string(a.h.Peek(k)) }
func (a respHeaderAccess) Set(k, v string)     { a.h.Set(k, v) }
func (a respHeaderAccess) Del(k string)        { a.h.Del(k) }

type queryAccess struct{ a *fasthttp.Args }

func (q queryAccess) Lookup(k string) (string, bool) {
	v := q.a.Peek(k)
	return string(v), v != nil
}

func scriptLogger(e *Engine, rc *config.Route) *slog.Logger {
	return e.log.With("route", rc.Name, "script", rc.Script)
}
