package engine

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestFromPgErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		sqlstate   string
		status     int
		code       string
		retryAfter bool
	}{
		{"42601", 400, codeBadRequest, false},
		{"54000", 400, codeBadRequest, false}, // program_limit_exceeded
		{"54001", 400, codeBadRequest, false}, // statement_too_complex
		{"54011", 400, codeBadRequest, false}, // too_many_columns
		{"53000", 503, codeUnavailable, true}, // insufficient_resources
		{"53100", 503, codeUnavailable, true}, // disk_full
		{"53200", 503, codeUnavailable, true}, // out_of_memory (lock table full)
		{"53300", 503, codeUnavailable, true}, // too_many_connections
		{"57P01", 503, codeUnavailable, true},
		{"25006", 403, codeForbidden, false},
		{"42501", 403, codeForbidden, false},
		{"57014", 504, codeQueryTimeout, false},
		{"XX000", 500, codeInternal, false},
	} {
		e := errorFrom(&pgconn.PgError{Code: tc.sqlstate, Message: "m"})
		if e.Status != tc.status || e.Code != tc.code || (e.RetryAfter > 0) != tc.retryAfter {
			t.Errorf("%s: got %d %s retry-after %v; want %d %s retry-after %v", tc.sqlstate, e.Status, e.Code, e.RetryAfter, tc.status, tc.code, tc.retryAfter)
		}
		if tc.retryAfter && e.RetryAfter < time.Second {
			t.Errorf("%s: Retry-After %v; want at least 1s", tc.sqlstate, e.RetryAfter)
		}
	}
}
