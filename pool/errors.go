package pool

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// ErrClosed is returned (wrapped) by Acquire and Ping once Close has been
// called: the server is shutting down or the database was reconfigured.
var ErrClosed = errors.New("pool: closed")

// BusyError means no connection could be had within Options.AcquireTimeout:
// every slot of the gate (or every connection) stayed busy. The engine
// answers 503 `unavailable` with a Retry-After header of RetryAfter.
type BusyError struct {
	// Pool is Options.Name.
	Pool string
	// Limit is the number of slots that were all busy.
	Limit int
	// Setting is the configuration key that sets Limit, for the message.
	Setting string
	// Timeout is Options.AcquireTimeout.
	Timeout time.Duration
	// Waited is how long this Acquire waited before giving up.
	Waited time.Duration
	// RetryAfter estimates when a slot should be free, in whole seconds (at
	// least 1s): see Stats.QueryEMA and Stats.GateWaiting.
	RetryAfter time.Duration
}

// Error tells the operator which limit was hit and what to change.
func (e *BusyError) Error() string {
	return fmt.Sprintf("pool: cannot acquire connection for %q within %s: all %d busy; raise %s or acquire_timeout",
		e.Pool, e.Timeout, e.Limit, e.Setting)
}

// IsBusy reports whether err is, or wraps, a *BusyError.
func IsBusy(err error) bool {
	var be *BusyError
	return errors.As(err, &be)
}

// RetryAfter returns the Retry-After estimate carried by a *BusyError in err,
// or 0 when err is not a busy error.
func RetryAfter(err error) time.Duration {
	var be *BusyError
	if errors.As(err, &be) {
		return be.RetryAfter
	}
	return 0
}

// ConfigError reports an invalid Options field, named by its configuration
// key ("max_conns", "settings.work_mem", "url").
type ConfigError struct {
	// Pool is Options.Name.
	Pool string
	// Field is the configuration key of the bad field.
	Field string
	// Reason says what is wrong, with the bad value where it is not secret.
	Reason string
	// Err is the underlying error, if any (a URL parse error).
	Err error
}

// Error reads "pool: invalid max_conns of "main": must be at least 1, got -1".
func (e *ConfigError) Error() string {
	msg := fmt.Sprintf("pool: invalid %s of %q: %s", e.Field, e.Pool, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// settingPath returns the configuration key to raise for the named pool's
// limit: databases.NAME.KEY for a database, accounts.ID.max_connections for an
// account's own pool ("account:ID").
func settingPath(name, key string) string {
	if id, ok := strings.CutPrefix(name, "account:"); ok {
		return "accounts." + id + ".max_connections"
	}
	if name == "" {
		return key
	}
	return "databases." + name + "." + key
}

// IsMessageTooLarge reports whether err is a server message (a row, an
// error) larger than Options.MaxMessageBytes.
func IsMessageTooLarge(err error) bool {
	var e *pgproto3.ExceededMaxBodyLenErr
	return errors.As(err, &e)
}
