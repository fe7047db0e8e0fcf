package engine

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/config"
)

// corsPolicy is server.cors compiled: header values encoded once.
type corsPolicy struct {
	anyOrigin   bool
	origins     [][]byte
	methods     []byte
	headers     []byte
	expose      []byte
	credentials bool
	maxAge      []byte
}

var (
	headerOrigin       = []byte("Origin")
	headerACRM         = []byte("Access-Control-Request-Method")
	headerACAO         = []byte("Access-Control-Allow-Origin")
	headerACAC         = []byte("Access-Control-Allow-Credentials")
	headerACEH         = []byte("Access-Control-Expose-Headers")
	headerACAM         = []byte("Access-Control-Allow-Methods")
	headerACAH         = []byte("Access-Control-Allow-Headers")
	headerACMA         = []byte("Access-Control-Max-Age")
	valueOrigin        = []byte("Origin")
	valueTrue          = []byte("true")
	valueStar          = []byte("*")
	methodOptions      = []byte("OPTIONS")
	defaultCORSExpose  = "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, ETag"
	defaultCORSHeaders = "Authorization, Content-Type, If-None-Match"
	defaultCORSMethods = "GET, POST"
	defaultCORSMaxAge  = "600"
)

// newCORS compiles server.cors; no allowed_origins means CORS is off (no
// header is added, preflights are 405 like any OPTIONS).
func newCORS(c config.CORS) *corsPolicy {
	if len(c.AllowedOrigins) == 0 {
		return nil
	}
	p := &corsPolicy{credentials: c.AllowCredentials}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			p.anyOrigin = true
		}
		p.origins = append(p.origins, []byte(o))
	}
	join := func(list []string, def string) []byte {
		if len(list) == 0 {
			return []byte(def)
		}
		return []byte(strings.Join(list, ", "))
	}
	p.methods = join(c.AllowedMethods, defaultCORSMethods)
	p.headers = join(c.AllowedHeaders, defaultCORSHeaders)
	p.expose = join(c.ExposeHeaders, defaultCORSExpose)
	p.maxAge = []byte(defaultCORSMaxAge)
	if c.MaxAge > 0 {
		p.maxAge = []byte(strconv.FormatInt(int64(c.MaxAge.Std().Seconds()), 10))
	}
	return p
}

// apply adds the CORS headers for an allowed Origin and answers preflight
// requests. It reports true when the request was a preflight (answered).
func (p *corsPolicy) apply(ctx *fasthttp.RequestCtx) bool {
	origin := ctx.Request.Header.PeekCanonical(headerOrigin)
	if len(origin) == 0 {
		return false
	}
	h := &ctx.Response.Header
	setVary(h, valueOrigin)
	if !p.allowed(origin) {
		return false
	}
	if p.anyOrigin && !p.credentials {
		h.SetCanonical(headerACAO, valueStar)
	} else {
		// A credentialed response must name the origin, never "*".
		h.SetCanonical(headerACAO, origin)
	}
	if p.credentials {
		h.SetCanonical(headerACAC, valueTrue)
	}
	if bytes.Equal(ctx.Method(), methodOptions) && len(ctx.Request.Header.PeekCanonical(headerACRM)) > 0 {
		h.SetCanonical(headerACAM, p.methods)
		h.SetCanonical(headerACAH, p.headers)
		h.SetCanonical(headerACMA, p.maxAge)
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return true
	}
	h.SetCanonical(headerACEH, p.expose)
	return false
}

func (p *corsPolicy) allowed(origin []byte) bool {
	if p.anyOrigin {
		return true
	}
	for _, o := range p.origins {
		if bytes.Equal(o, origin) {
			return true
		}
	}
	return false
}

var valueOriginAcceptEnc = []byte("Origin, Accept-Encoding")

var headerVary = []byte("Vary")

// setVary adds v to the Vary header: CORS varies by Origin, compression by
// Accept-Encoding, and a cache in front of pgfast must see both.
func setVary(h *fasthttp.ResponseHeader, v []byte) {
	old := h.PeekCanonical(headerVary)
	switch {
	case len(old) == 0:
		h.SetCanonical(headerVary, v)
	case bytes.Contains(old, v):
	default:
		h.SetCanonical(headerVary, valueOriginAcceptEnc)
	}
}
