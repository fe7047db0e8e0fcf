package sqlexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgfast/pgfast/pool"
)

// Kind is what a failed execution means to the client, decided from the
// error's type and SQLSTATE, never its text. The HTTP edge maps each kind
// to a status once.
type Kind uint8

const (
	// Internal is a failure of the server or of pgfast, not of the
	// client's statement: its text stays in the log.
	Internal Kind = iota
	// BadStatement: a syntax error, an unknown table or column, a
	// parameter of the wrong type, a statement past a program limit.
	BadStatement
	// Forbidden: the session refused it (permissions, read-only).
	Forbidden
	// Conflict: a unique or foreign-key violation, a serialization
	// failure or deadlock.
	Conflict
	// InvalidInput: data the types or constraints refuse (22xxx, 23502, …).
	InvalidInput
	// Timeout: statement_timeout or the client-side deadline.
	Timeout
	// Unavailable: the database is unreachable, going away, out of
	// resources, or the pool is busy; RetryAfter says when to try again.
	Unavailable
	// TooLarge: one row or message from PostgreSQL exceeds the pool's
	// message bound.
	TooLarge
)

// Failure is a classified execution error.
type Failure struct {
	Kind Kind
	// Message, and PostgreSQL's SQLState, Detail, Hint and Position when
	// the error describes the client's statement.
	Message  string
	SQLState string
	Detail   string
	Hint     string
	Position int32
	// RetryAfter is set for Unavailable.
	RetryAfter time.Duration
}

// Classify says what err means; ok is false for an error that is none of
// sqlexec's (the caller's own, or an unknown one).
func Classify(err error) (f Failure, ok bool) {
	var pe *ParamError
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	switch {
	case errors.As(err, &pe):
		return Failure{Kind: BadStatement, Message: pe.Msg}, true
	case pool.IsMessageTooLarge(err):
		return Failure{Kind: TooLarge, Message: fmt.Sprintf("a row or message from PostgreSQL is larger than %d MiB", pool.DefaultMaxMessageBytes>>20)}, true
	case pool.IsBusy(err):
		return Failure{Kind: Unavailable, Message: err.Error(), RetryAfter: pool.RetryAfter(err)}, true
	case errors.As(err, &pgErr):
		if errors.As(err, &connErr) {
			return unavailable("database unavailable"), true
		}
		return fromPgError(pgErr), true
	case errors.Is(err, context.DeadlineExceeded), isNetTimeout(err):
		return Failure{Kind: Timeout, Message: "query did not finish in time"}, true
	case errors.As(err, &connErr), pgconn.SafeToRetry(err), isConnClosed(err):
		return unavailable("database unavailable"), true
	}
	return Failure{}, false
}

func unavailable(msg string) Failure {
	return Failure{Kind: Unavailable, Message: msg, RetryAfter: time.Second}
}

// isNetTimeout reports a socket deadline that passed: the backstop behind
// statement_timeout for executions bounded by their connection's deadline.
func isNetTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// isConnClosed reports a connection to the database that failed or went
// away underneath a query, by the errors' types rather than their text.
func isConnClosed(err error) bool {
	var netErr net.Error
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, pool.ErrClosed) || errors.As(err, &netErr)
}

// fromPgError maps a SQLSTATE to its kind (DESIGN §4). The message,
// detail, hint and position are PostgreSQL's own: they describe the
// client's statement, not the server.
func fromPgError(pe *pgconn.PgError) Failure {
	f := Failure{Message: pe.Message, SQLState: pe.Code, Detail: pe.Detail, Hint: pe.Hint, Position: pe.Position}
	switch code := pe.Code; {
	case code == "42601", code == "42P01", code == "42703", code == "42883", code == "42P02",
		code == "42804", code == "42P18", code == "0A000", code == "42P08":
		f.Kind = BadStatement
	case code == "42501", strings.HasPrefix(code, "25"):
		// 25006 read-only transaction, 25001 read-write mode requested
		// too late: the session refused what was asked.
		f.Kind = Forbidden
	case code == "23505", code == "23503", code == "40001", code == "40P01":
		f.Kind = Conflict
	case strings.HasPrefix(code, "22"), code == "23502", code == "23514", code == "23P01":
		f.Kind = InvalidInput
	case code == "57014":
		f.Kind = Timeout
	case strings.HasPrefix(code, "54"):
		// Program limit exceeded (too many columns, arguments, a statement
		// too complex): the statement's fault, not the server's.
		f.Kind = BadStatement
	case strings.HasPrefix(code, "53"):
		// Insufficient resources (out of memory, disk full, too many
		// connections, lock table full): the server may recover, so the
		// client may retry; the details stay in the log.
		return Failure{Kind: Unavailable, Message: "database out of resources; retry later", SQLState: code, RetryAfter: time.Second}
	case code == "57P01", code == "57P02", code == "57P03", strings.HasPrefix(code, "08"),
		strings.HasPrefix(code, "28"), strings.HasPrefix(code, "3D"):
		// The server is going away, full, or refuses our login/database:
		// an operator's problem, not the client's; its text stays in the log.
		return unavailable("database unavailable")
	case strings.HasPrefix(code, "42"):
		f.Kind = BadStatement
	default:
		// Internal errors (XX000, 58xxx, …) describe the server, not the
		// client's statement.
		return Failure{Kind: Internal}
	}
	return f
}
