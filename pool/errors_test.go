package pool

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBusyErrorMessage(t *testing.T) {
	f := func(name string, limit int, key, want string) {
		t.Helper()
		e := &BusyError{Pool: name, Limit: limit, Setting: settingPath(name, key), Timeout: time.Second}
		if got := e.Error(); got != want {
			t.Fatalf("got %q; want %q", got, want)
		}
	}
	f("main", 20, "max_concurrent_queries",
		`pool: cannot acquire connection for "main" within 1s: all 20 busy; raise databases.main.max_concurrent_queries or acquire_timeout`)
	f("replica", 4, "max_conns",
		`pool: cannot acquire connection for "replica" within 1s: all 4 busy; raise databases.replica.max_conns or acquire_timeout`)
	f("account:acc_x", 10, "max_concurrent_queries",
		`pool: cannot acquire connection for "account:acc_x" within 1s: all 10 busy; raise accounts.acc_x.max_connections or acquire_timeout`)
	f("", 1, "max_conns",
		`pool: cannot acquire connection for "" within 1s: all 1 busy; raise max_conns or acquire_timeout`)
}

func TestIsBusyAndRetryAfter(t *testing.T) {
	be := &BusyError{Pool: "main", RetryAfter: 3 * time.Second}
	wrapped := fmt.Errorf("cannot run query: %w", be)
	if !IsBusy(be) || !IsBusy(wrapped) {
		t.Fatal("IsBusy: got false; want true for a BusyError, wrapped or not")
	}
	if got := RetryAfter(wrapped); got != 3*time.Second {
		t.Fatalf("RetryAfter: got %s; want 3s", got)
	}
	other := errors.New("boom")
	if IsBusy(other) || IsBusy(nil) || RetryAfter(other) != 0 || RetryAfter(nil) != 0 {
		t.Fatal("got busy for a plain error; want not busy and RetryAfter 0")
	}
	if IsBusy(fmt.Errorf("x: %w", ErrClosed)) {
		t.Fatal("ErrClosed: got busy; want not busy")
	}
}

func TestConfigErrorUnwrap(t *testing.T) {
	inner := errors.New("inner")
	e := &ConfigError{Pool: "main", Field: "url", Reason: "cannot be parsed", Err: inner}
	if !errors.Is(e, inner) {
		t.Fatal("errors.Is: got false; want the wrapped error")
	}
	if got, want := e.Error(), `pool: invalid url of "main": cannot be parsed: inner`; got != want {
		t.Fatalf("got %q; want %q", got, want)
	}
}
