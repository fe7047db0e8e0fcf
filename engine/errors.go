package engine

import (
	"errors"
	"strconv"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/limiter"
	"github.com/pgfast/pgfast/sqlexec"
)

// Error is what a request failed with, in the shape DESIGN §4 promises:
// status plus {"error":{"code","message",…}}. Handlers return errors; they
// are turned into an *Error once, by errorFrom, at the HTTP edge.
type Error struct {
	Status   int    `json:"-"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	SQLState string `json:"sqlstate,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Hint     string `json:"hint,omitempty"`
	Position int32  `json:"position,omitempty"`
	// Index is the failing query's index in a transactional batch.
	Index *int `json:"index,omitempty"`
	// RetryAfter, when set, becomes the Retry-After header (503, 429).
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The codes of DESIGN §4.
const (
	codeBadRequest       = "bad_request"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeConflict         = "conflict"
	codeTooLarge         = "too_large"
	codeInvalidInput     = "invalid_input"
	codeRateLimited      = "rate_limited"
	codeUnavailable      = "unavailable"
	codeQueryTimeout     = "query_timeout"
	codeBadGateway       = "bad_gateway"
	codeUpstreamTimeout  = "upstream_timeout"
	codeInternal         = "internal"
)

func errBadRequest(msg string) *Error { return &Error{Status: 400, Code: codeBadRequest, Message: msg} }
func errUnauthorized(msg string) *Error {
	return &Error{Status: 401, Code: codeUnauthorized, Message: msg}
}
func errForbidden(msg string) *Error { return &Error{Status: 403, Code: codeForbidden, Message: msg} }
func errNotFound(msg string) *Error  { return &Error{Status: 404, Code: codeNotFound, Message: msg} }
func errInternal() *Error {
	return &Error{Status: 500, Code: codeInternal, Message: "internal error; see the server log"}
}

// errorFrom classifies err once: typed errors of the packages below (the
// SQL backend's failures by SQLSTATE and type) decide the status, never
// the text.
func errorFrom(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	f, ok := sqlexec.Classify(err)
	if !ok {
		return errInternal()
	}
	he := &Error{Message: f.Message, SQLState: f.SQLState, Detail: f.Detail, Hint: f.Hint, Position: f.Position, RetryAfter: f.RetryAfter}
	switch f.Kind {
	case sqlexec.BadStatement:
		he.Status, he.Code = 400, codeBadRequest
	case sqlexec.Forbidden:
		he.Status, he.Code = 403, codeForbidden
	case sqlexec.Conflict:
		he.Status, he.Code = 409, codeConflict
	case sqlexec.InvalidInput:
		he.Status, he.Code = 422, codeInvalidInput
	case sqlexec.Timeout:
		he.Status, he.Code = 504, codeQueryTimeout
	case sqlexec.Unavailable:
		he.Status, he.Code = 503, codeUnavailable
	case sqlexec.TooLarge:
		he.Status, he.Code = 413, codeTooLarge
	default:
		return errInternal()
	}
	return he
}

// appendErrorBody appends {"error":{…}}.
func appendErrorBody(dst []byte, e *Error) []byte {
	dst = append(dst, `{"error":`...)
	b, err := json.Marshal(e)
	if err != nil { // only strings and ints inside: cannot happen
		b = []byte(`{"code":"internal","message":"internal error"}`)
	}
	dst = append(dst, b...)
	return append(dst, '}')
}

// writeError replaces whatever response was being built with e.
func writeError(ctx *fasthttp.RequestCtx, e *Error) {
	ctx.Response.ResetBody()
	ctx.Response.Header.Del(fasthttp.HeaderContentEncoding)
	ctx.SetStatusCode(e.Status)
	ctx.SetContentTypeBytes(contentTypeJSON)
	if e.RetryAfter > 0 {
		ctx.Response.Header.SetBytesV(fasthttp.HeaderRetryAfter, appendRetryAfter(nil, e.RetryAfter))
	}
	ctx.Response.SetBodyRaw(appendErrorBody(nil, e))
}

// appendRetryAfter appends d as the delay-seconds of a Retry-After header,
// by the limiter's rule (limiter.Decision.RetryAfterSeconds): rounded up
// and at least 1. Every Retry-After header pgfast sends is written here.
func appendRetryAfter(dst []byte, d time.Duration) []byte {
	rejected := limiter.Decision{RetryAfter: d}
	return strconv.AppendInt(dst, rejected.RetryAfterSeconds(), 10)
}
