package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/cache"
	"github.com/pgfast/pgfast/upstream"
)

// upstreamBackend forwards a route's requests to an upstream (DESIGN §9):
// the path rewritten, hop-by-hop headers dropped both ways, X-Forwarded-*
// and X-Request-Id added, the route's request_headers applied, bodies
// streamed both ways.
type upstreamBackend struct {
	up         *upstream.Upstream
	name       string // the upstream's, for logs and the access log
	rewrite    *regexp.Regexp
	replace    []byte
	reqHeaders *headerRules
	hostHeader []byte
	hashKey    []valuePart // nil unless the upstream balances by hash
	maxBody    int64       // the route's max_body_bytes
	// dropAuthorization: an auth: token route's bearer token is a pgfast
	// API token (it grants database access): never sent upstream.
	dropAuthorization bool
}

var (
	headerXForwardedFor   = []byte(fasthttp.HeaderXForwardedFor)
	headerXForwardedProto = []byte("X-Forwarded-Proto")
	headerXForwardedHost  = []byte(fasthttp.HeaderXForwardedHost)
	headerSetCookie       = []byte(fasthttp.HeaderSetCookie)
	valueHTTP             = []byte("http")
	valueHTTPS            = []byte("https")
	commaSpace            = []byte(", ")
	// forwardingHeaders are set by pgfast alone on an upstream request.
	forwardingHeaders = [][]byte{headerXForwardedFor, headerXForwardedProto, headerXForwardedHost, headerXRequestID,
		[]byte("Forwarded"), []byte("X-Real-Ip")}
	// hopByHop are the headers of one connection, never forwarded
	// (RFC 9110 §7.6.1), with Proxy-* removed by prefix.
	hopByHop = [][]byte{[]byte("Connection"), []byte("Keep-Alive"), []byte("Te"), []byte("Trailer"),
		[]byte("Transfer-Encoding"), []byte("Upgrade"), []byte("Proxy-Connection"), []byte("Proxy-Authorization"), []byte("Proxy-Authenticate")}
)

func (b *upstreamBackend) serve(r *request) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	if err := b.buildRequest(r, req); err != nil {
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
		return err
	}
	var key []byte
	if b.hashKey != nil {
		r.keyBuf = appendValue(r.keyBuf[:0], r, b.hashKey)
		key = r.keyBuf
	}
	t := time.Now()
	target, err := b.up.Do(req, resp, key)
	r.timed(stageUpstream, t) // to the response headers: a streamed body goes on after
	r.upstream, r.target = b.name, target
	fasthttp.ReleaseRequest(req)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		return upstreamError(b.name, err)
	}
	copyResponseHeader(&r.ctx.Response.Header, &resp.Header)
	if resp.IsBodyStream() {
		// The body streams to the client at its pace; resp goes back to
		// its pool once fasthttp has written it (Close).
		r.ctx.Response.SetBodyStream(&upstreamBody{resp: resp}, resp.Header.ContentLength())
		return nil
	}
	r.ctx.Response.SetBody(resp.Body())
	fasthttp.ReleaseResponse(resp)
	return nil
}

// buildRequest writes the outgoing request for r into out.
func (b *upstreamBackend) buildRequest(r *request, out *fasthttp.Request) error {
	in := &r.ctx.Request
	in.Header.CopyTo(&out.Header)
	stripHopByHop(out.Header.Peek(fasthttp.HeaderConnection), out.Header.DelBytes)
	path := r.ctx.Path()
	if b.rewrite != nil {
		path = b.rewrite.ReplaceAll(path, b.replace)
	}
	out.URI().SetPathBytes(path)
	out.URI().SetQueryStringBytes(r.ctx.URI().QueryString())
	out.Header.SetHostBytes(r.ctx.Host())
	if b.hostHeader != nil {
		out.Header.SetHostBytes(b.hostHeader)
	}
	// X-Forwarded-For: what a trusted proxy sent, plus this client;
	// anyone else's claim is dropped.
	r.buf = r.buf[:0]
	if prev := in.Header.PeekCanonical(headerXForwardedFor); len(prev) > 0 && r.fromTrustedProxy() {
		r.buf = append(append(r.buf, prev...), commaSpace...)
	}
	r.buf = append(r.buf, r.ctx.RemoteIP().String()...)
	// Every copy the client sent goes first: a second header line would
	// otherwise survive beside the one set here.
	for _, h := range forwardingHeaders {
		out.Header.DelBytes(h)
	}
	if b.dropAuthorization {
		out.Header.Del(fasthttp.HeaderAuthorization)
	}
	out.Header.SetCanonical(headerXForwardedFor, r.buf)
	proto := valueHTTP
	if r.ctx.IsTLS() {
		proto = valueHTTPS
	}
	out.Header.SetCanonical(headerXForwardedProto, proto)
	out.Header.SetCanonical(headerXForwardedHost, r.ctx.Host())
	out.Header.SetCanonical(headerXRequestID, r.requestID())
	if r.span.Started() {
		r.startUpstreamSpan(&out.Header)
	}
	if b.reqHeaders != nil {
		b.reqHeaders.apply(r, &out.Header)
	}
	return b.setBody(r, out)
}

// setBody forwards the request body: a streamed one (larger than the
// server's in-memory bound) as a stream, bounded by the route's
// max_body_bytes.
func (b *upstreamBackend) setBody(r *request, out *fasthttp.Request) error {
	in := &r.ctx.Request
	n := in.Header.ContentLength()
	if b.maxBody > 0 && int64(n) > b.maxBody {
		return errBodyTooLarge(b.maxBody)
	}
	if in.IsBodyStream() {
		out.SetBodyStream(&boundedBody{r: r.ctx.RequestBodyStream(), left: b.maxBody}, n)
		return nil
	}
	out.SetBodyRaw(in.Body())
	return nil
}

func errBodyTooLarge(limit int64) *Error {
	return &Error{Status: 413, Code: codeTooLarge, Message: "request body exceeds the route's max_body_bytes (" + strconv.FormatInt(limit, 10) + " bytes)"}
}

// boundedBody stops a streamed request body past its bound.
type boundedBody struct {
	r    io.Reader
	left int64
}

var errStreamTooLarge = errors.New("request body exceeds the route's max_body_bytes")

func (b *boundedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, errStreamTooLarge
	}
	return n, err
}

// stripHopByHop deletes the hop-by-hop headers and those the Connection
// header names.
func stripHopByHop(connection []byte, del func([]byte)) {
	for len(connection) > 0 {
		name, rest, _ := bytes.Cut(connection, []byte{','})
		if name = bytes.TrimSpace(name); len(name) > 0 {
			del(name)
		}
		connection = rest
	}
	for _, h := range hopByHop {
		del(h)
	}
}

// copyResponseHeader copies an upstream's status and headers to the client
// response, hop-by-hop headers left out. A Cache-Control already on dst is
// the route's (a cached route's key marked as streaming): the upstream's
// does not join it.
func copyResponseHeader(dst, src *fasthttp.ResponseHeader) {
	dst.SetStatusCode(src.StatusCode())
	dst.SetContentTypeBytes(src.ContentType())
	routeCC := len(dst.PeekBytes(headerCacheControl)) > 0
	for k, v := range src.All() {
		if !notCopied(k) && !(routeCC && bytes.EqualFold(k, headerCacheControl)) {
			dst.AddBytesKV(k, v)
		}
	}
	for _, h := range bytes.Split(src.Peek(fasthttp.HeaderConnection), []byte{','}) {
		if h = bytes.TrimSpace(h); len(h) > 0 {
			dst.DelBytes(h)
		}
	}
}

// notCopied says which upstream response headers are not passed on as they
// are: hop-by-hop ones, and those pgfast writes itself (length, type, date).
func notCopied(name []byte) bool {
	return isHopByHop(name) || bytes.EqualFold(name, []byte(fasthttp.HeaderContentLength)) ||
		bytes.EqualFold(name, []byte(fasthttp.HeaderContentType)) || bytes.EqualFold(name, []byte(fasthttp.HeaderDate))
}

func isHopByHop(name []byte) bool {
	for _, h := range hopByHop {
		if bytes.EqualFold(name, h) {
			return true
		}
	}
	return len(name) > 6 && bytes.EqualFold(name[:6], []byte("Proxy-"))
}

// upstreamBody is an upstream's response body streaming to the client.
type upstreamBody struct {
	resp *fasthttp.Response
}

func (u *upstreamBody) Read(p []byte) (int, error) { return u.resp.BodyStream().Read(p) }

func (u *upstreamBody) Close() error {
	err := u.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(u.resp)
	return err
}

// upstreamError maps the upstream package's errors to DESIGN §9's.
func upstreamError(name string, err error) error {
	var open *upstream.OpenError
	switch {
	case errors.As(err, &open):
		return &Error{Status: 503, Code: codeUnavailable, Message: "upstream " + name + ": every target's circuit breaker is open", RetryAfter: time.Duration(open.RetryAfterSeconds()) * time.Second}
	case errors.Is(err, upstream.ErrTimeout):
		return &Error{Status: 504, Code: codeUpstreamTimeout, Message: "upstream " + name + " did not answer in time"}
	case errors.Is(err, errStreamTooLarge):
		return &Error{Status: 413, Code: codeTooLarge, Message: err.Error()}
	}
	return &Error{Status: 502, Code: codeBadGateway, Message: "upstream " + name + ": no target answered"}
}

// fill captures the outgoing request for a cache fetch: the fill may run
// after r is gone. Only GET and HEAD reach it (cachePolicy.admits).
func (b *upstreamBackend) fill(r *request) fetchFunc {
	r.upstream = b.name // for the access log; the target is the fill's
	req := fasthttp.AcquireRequest()
	err := b.buildRequest(r, req)
	// What the cache stores is one answer for every client of the key: a
	// GET (a HEAD is answered from it), with no body (admits refuses
	// requests that carry one) and in identity encoding (the cache makes
	// its own gzip and brotli variants).
	req.Header.SetMethod(fasthttp.MethodGet)
	req.ResetBody()
	req.Header.Del(fasthttp.HeaderAcceptEncoding)
	var key []byte
	if b.hashKey != nil {
		key = appendValue(nil, r, b.hashKey)
	}
	return func(ctx context.Context, limit int) (fetched, error) {
		defer fasthttp.ReleaseRequest(req)
		if err != nil {
			return fetched{}, err
		}
		return b.fetch(req, key, limit)
	}
}

// fetch runs one exchange and reads the whole answer for the cache.
func (b *upstreamBackend) fetch(req *fasthttp.Request, key []byte, limit int) (fetched, error) {
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if _, err := b.up.Do(req, resp, key); err != nil {
		return fetched{}, upstreamError(b.name, err)
	}
	body, err := readBody(resp, limit)
	if err != nil {
		return fetched{}, err
	}
	f := fetched{status: resp.StatusCode(), contentType: bytes.Clone(resp.Header.ContentType()), body: body}
	for k, v := range resp.Header.All() {
		// Cache-Control is the route's on every answer from the cache
		// (writeEntry), not the upstream's.
		if !notCopied(k) && !bytes.EqualFold(k, headerCacheControl) {
			f.header = append(f.header, cache.HeaderField{Name: bytes.Clone(k), Value: bytes.Clone(v)})
		}
	}
	f.noStore, f.maxAge = storable(resp)
	return f, nil
}

// readBody reads a response body whole, up to limit bytes (0: no limit).
func readBody(resp *fasthttp.Response, limit int) ([]byte, error) {
	if !resp.IsBodyStream() {
		if limit > 0 && len(resp.Body()) > limit {
			return nil, errTooLargeToCache
		}
		return bytes.Clone(resp.Body()), nil
	}
	defer resp.CloseBodyStream()
	var rd io.Reader = resp.BodyStream()
	if limit > 0 {
		rd = io.LimitReader(rd, int64(limit)+1)
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(body) > limit {
		return nil, errTooLargeToCache
	}
	return body, nil
}

// storable says whether an upstream answer may be cached and for how long
// at most: 200 only; never no-store, private or no-cache, nor a response
// that sets a cookie; s-maxage or max-age bound the route's ttl.
func storable(resp *fasthttp.Response) (noStore bool, maxAge time.Duration) {
	if resp.StatusCode() != fasthttp.StatusOK || len(resp.Header.PeekCanonical(headerSetCookie)) > 0 ||
		len(resp.Header.ContentEncoding()) > 0 || len(resp.Header.Peek(fasthttp.HeaderVary)) > 0 {
		// A body still encoded, or one that varies by request headers the
		// key does not hold, is answered but never stored.
		return true, 0
	}
	cc := bytes.ToLower(resp.Header.Peek(fasthttp.HeaderCacheControl))
	if bytes.Contains(cc, []byte("no-store")) || bytes.Contains(cc, []byte("private")) || bytes.Contains(cc, []byte("no-cache")) {
		return true, 0
	}
	for _, d := range []string{"s-maxage=", "max-age="} {
		if i := bytes.Index(cc, []byte(d)); i >= 0 {
			v := cc[i+len(d):]
			end := 0
			for end < len(v) && v[end] >= '0' && v[end] <= '9' {
				end++
			}
			if n, err := strconv.Atoi(string(v[:end])); err == nil {
				if n == 0 {
					return true, 0
				}
				return false, time.Duration(n) * time.Second
			}
		}
	}
	return false, 0
}
