package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/valyala/fasthttp"

	"github.com/pgfast/pgfast/pool"
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

// errorFrom classifies err once: typed errors of the packages below (pool's
// busy error, PostgreSQL's SQLSTATE) decide the status, never the text.
func errorFrom(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if pool.IsMessageTooLarge(err) {
		return &Error{Status: 413, Code: codeTooLarge, Message: fmt.Sprintf("a row or message from PostgreSQL is larger than %d MiB", pool.DefaultMaxMessageBytes>>20)}
	}
	if pool.IsBusy(err) {
		return &Error{Status: 503, Code: codeUnavailable, Message: err.Error(), RetryAfter: pool.RetryAfter(err)}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		var connErr *pgconn.ConnectError
		if errors.As(err, &connErr) {
			return &Error{Status: 503, Code: codeUnavailable, Message: "database unavailable", RetryAfter: time.Second}
		}
		return fromPgError(pgErr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: 504, Code: codeQueryTimeout, Message: "query did not finish in time"}
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || pgconn.SafeToRetry(err) || isConnClosed(err) {
		return &Error{Status: 503, Code: codeUnavailable, Message: "database unavailable", RetryAfter: time.Second}
	}
	return errInternal()
}

// isConnClosed reports a connection to the database that failed or went
// away underneath a query, by the errors' types rather than their text.
func isConnClosed(err error) bool {
	var netErr net.Error
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, pool.ErrClosed) || errors.As(err, &netErr)
}

// fromPgError maps a SQLSTATE to the HTTP status of DESIGN §4. The message,
// detail, hint and position are PostgreSQL's own: they describe the client's
// statement, not the server.
func fromPgError(pe *pgconn.PgError) *Error {
	e := &Error{Message: pe.Message, SQLState: pe.Code, Detail: pe.Detail, Hint: pe.Hint, Position: pe.Position}
	switch code := pe.Code; {
	case code == "42601", code == "42P01", code == "42703", code == "42883", code == "42P02",
		code == "42804", code == "42P18", code == "0A000", code == "42P08":
		e.Status, e.Code = 400, codeBadRequest
	case code == "42501", strings.HasPrefix(code, "25"):
		// 25006 read-only transaction, 25001 read-write mode requested
		// too late: the session refused what was asked.
		e.Status, e.Code = 403, codeForbidden
	case code == "23505", code == "23503", code == "40001", code == "40P01":
		e.Status, e.Code = 409, codeConflict
	case strings.HasPrefix(code, "22"), code == "23502", code == "23514", code == "23P01":
		e.Status, e.Code = 422, codeInvalidInput
	case code == "57014":
		e.Status, e.Code = 504, codeQueryTimeout
	case strings.HasPrefix(code, "54"):
		// Program limit exceeded (too many columns, arguments, a statement
		// too complex): the statement's fault, not the server's.
		e.Status, e.Code = 400, codeBadRequest
	case strings.HasPrefix(code, "53"):
		// Insufficient resources (out of memory, disk full, too many
		// connections, lock table full): the server may recover, so the
		// client may retry; the details stay in the log.
		return &Error{Status: 503, Code: codeUnavailable, Message: "database out of resources; retry later", SQLState: code, RetryAfter: time.Second}
	case code == "57P01", code == "57P02", code == "57P03", strings.HasPrefix(code, "08"),
		strings.HasPrefix(code, "28"), strings.HasPrefix(code, "3D"):
		// The server is going away, full, or refuses our login/database:
		// an operator's problem, not the client's; its text stays in the log.
		return &Error{Status: 503, Code: codeUnavailable, Message: "database unavailable", RetryAfter: time.Second}
	case strings.HasPrefix(code, "42"):
		e.Status, e.Code = 400, codeBadRequest
	default:
		// Internal errors (XX000, 58xxx, …) describe the server, not the
		// client's statement: the client gets the generic 500.
		return errInternal()
	}
	return e
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
		secs := int64(math.Ceil(e.RetryAfter.Seconds()))
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.FormatInt(secs, 10))
	}
	ctx.Response.SetBodyRaw(appendErrorBody(nil, e))
}
