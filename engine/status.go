package engine

import (
	_ "embed"

	"github.com/valyala/fasthttp"
)

// statusPage is the admin listener's GET /: one self-contained HTML page
// (no external assets) that refreshes itself from /admin/stats.
//
//go:embed static/status.html
var statusPage []byte

var contentTypeHTML = []byte("text/html; charset=utf-8")

func serveStatusPage(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		writeError(ctx, &Error{Status: 405, Code: codeMethodNotAllowed, Message: "use GET"})
		return
	}
	ctx.SetContentTypeBytes(contentTypeHTML)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	ctx.SetBody(statusPage)
}
