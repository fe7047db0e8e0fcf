package pool

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	// The configuration sets these, so the zero value means zero, not a default.
	o := Options{URL: offlineURL, MaxConns: 7}.withDefaults()
	if o.MaxConcurrentQueries != 7 {
		t.Fatalf("got gate %d; want it to follow MaxConns 7", o.MaxConcurrentQueries)
	}
	if o.AcquireTimeout != 0 || o.ConnectTimeout != 0 || o.SlowQuery != 0 || o.StatementTimeout != 0 || o.ApplicationName != "" {
		t.Fatalf("got AcquireTimeout=%s ConnectTimeout=%s SlowQuery=%s StatementTimeout=%s ApplicationName=%q; want zeros kept",
			o.AcquireTimeout, o.ConnectTimeout, o.SlowQuery, o.StatementTimeout, o.ApplicationName)
	}
	// The configuration has no key for these.
	if o.Logger == nil || o.MaxMessageBytes != DefaultMaxMessageBytes {
		t.Fatalf("got Logger=%v MaxMessageBytes=%d; want a logger and %d", o.Logger, o.MaxMessageBytes, DefaultMaxMessageBytes)
	}
	if err := (Options{URL: offlineURL, MaxConns: 1}).Validate(); err != nil {
		t.Fatalf("zero options with a URL and MaxConns: got %v; want valid", err)
	}
	var ce *ConfigError
	if err := (Options{URL: offlineURL}).Validate(); !errors.As(err, &ce) || ce.Field != "max_conns" {
		t.Fatalf("zero MaxConns: got %v; want a max_conns *ConfigError (it has no default)", err)
	}
}

func TestZeroAcquireTimeoutRefusesAtOnce(t *testing.T) {
	p := newPool(t, Options{URL: offlineURL, MaxConns: 1})
	if _, err := p.gate.enter(context.Background(), nil, p.opts.AcquireTimeout); err != nil {
		t.Fatal(err)
	}
	defer p.gate.leave()
	start := time.Now()
	_, err := p.Acquire(context.Background())
	if !IsBusy(err) {
		t.Fatalf("got %v; want a BusyError", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("refused after %s; want at once", d)
	}
	if s := p.Stats(); s.GateRejected != 1 || s.GateWaiting != 0 {
		t.Fatalf("got GateRejected=%d GateWaiting=%d; want 1 and 0", s.GateRejected, s.GateWaiting)
	}
}

func TestValidate(t *testing.T) {
	f := func(o Options, field, reason string) {
		t.Helper()
		if o.URL == "-" {
			o.URL = ""
		} else if o.URL == "" {
			o.URL = offlineURL
		}
		if o.MaxConns == 0 {
			o.MaxConns = 2
		}
		o.Name = "main"
		err := o.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("%+v: got %v; want a *ConfigError", o, err)
		}
		if ce.Field != field || !strings.Contains(err.Error(), reason) {
			t.Fatalf("got field %q, error %q; want field %q and %q", ce.Field, err, field, reason)
		}
		if !strings.HasPrefix(err.Error(), `pool: invalid `+field+` of "main": `) {
			t.Fatalf("got %q; want the pool prefix, field and name", err)
		}
		if _, err := New(context.Background(), o); !errors.As(err, &ce) {
			t.Fatalf("New(%+v): got %v; want a *ConfigError", o, err)
		}
	}
	f(Options{URL: "-"}, "url", "is empty")
	f(Options{URL: "postgres://u:secret@host:notaport/db"}, "url", "cannot be parsed")
	f(Options{MaxConns: -1}, "max_conns", "at least 1, got -1")
	f(Options{MaxConns: 2, MinConns: 3}, "min_conns", "between 0 and max_conns (2), got 3")
	f(Options{MinConns: -1}, "min_conns", "got -1")
	f(Options{MaxConcurrentQueries: -5}, "max_concurrent_queries", "got -5")
	f(Options{AcquireTimeout: -time.Second}, "acquire_timeout", "negative")
	f(Options{StatementTimeout: -time.Second}, "statement_timeout", "negative")
	f(Options{ConnectTimeout: -time.Second}, "connect_timeout", "negative")
	f(Options{SlowQuery: -time.Second}, "slow_query", "negative (0 turns it off)")
	f(Options{MaxConnIdleTime: -time.Second}, "idle_timeout", "negative (0 means never)")
	f(Options{MaxConnLifetime: -time.Second}, "max_lifetime", "negative (0 means never)")
	f(Options{HealthCheckPeriod: -time.Second}, "health_check_period", "negative (0 turns it off)")
	f(Options{MaxConcurrentQueries: 3}, "max_concurrent_queries", "must not exceed max_conns (2) when acquire_timeout is 0, got 3")
	f(Options{ApplicationName: "a\x00b"}, "application_name", "NUL")
	f(Options{Role: "r\x00"}, "role", "NUL")
	f(Options{Settings: map[string]string{"work_mem": "1\x00"}}, "settings.work_mem", "NUL")
	f(Options{Settings: map[string]string{"work mem": "1MB"}}, "settings.work mem", "not a PostgreSQL parameter name")
	f(Options{Settings: map[string]string{"statement_timeout": "1s"}}, "settings.statement_timeout", "statement_timeout option")
	f(Options{Settings: map[string]string{"Default_Transaction_Read_Only": "off"}}, "settings.Default_Transaction_Read_Only", "read_only option")
	f(Options{Settings: map[string]string{"role": "x"}}, "settings.role", "role option")
	f(Options{Settings: map[string]string{"application_name": "x"}}, "settings.application_name", "application_name option")
}

func TestValidateDoesNotLeakPassword(t *testing.T) {
	err := Options{URL: "postgres://u:hunter2@host:notaport/db", MaxConns: 1}.Validate()
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v; want an error without the password", err)
	}
}

func TestValidSettingName(t *testing.T) {
	f := func(name string, want bool) {
		t.Helper()
		if got := validSettingName(name); got != want {
			t.Fatalf("validSettingName(%q): got %v; want %v", name, got, want)
		}
	}
	f("work_mem", true)
	f("TimeZone", true)
	f("pg_stat_statements.track", true)
	f("_x1", true)
	f("", false)
	f("1abc", false)
	f(".x", false)
	f("a-b", false)
	f("a b", false)
	f("a;b", false)
}

func TestCeilMillis(t *testing.T) {
	f := func(d time.Duration, want int64) {
		t.Helper()
		if got := ceilMillis(d); got != want {
			t.Fatalf("ceilMillis(%s): got %d; want %d", d, got, want)
		}
	}
	f(time.Nanosecond, 1)
	f(time.Millisecond, 1)
	f(1500*time.Microsecond, 2)
	f(5*time.Second, 5000)
}
