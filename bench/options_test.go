package bench

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	o := Options{Target: "http://127.0.0.1:8580/"}.withDefaults()
	if o.Target != "http://127.0.0.1:8580" || o.Admin != "http://127.0.0.1:8581" {
		t.Fatalf("got target %q, admin %q; want the trailing slash dropped and port 8581", o.Target, o.Admin)
	}
	if o.Duration != DefaultDuration || o.Connections != 1000 || o.Rate != 500 || o.Tolerance != DefaultTolerance ||
		o.Token != DefaultToken || o.SelectPath != DefaultSelectPath || o.IDs != DefaultIDs || o.CachedKeys != DefaultCachedKeys ||
		len(o.Scenarios) != len(Scenarios) || o.ProfileDir != "profiles" || o.ProxyPath != DefaultProxyPath || o.ProxyUpstream != "" {
		t.Fatalf("got %+v; want the documented defaults", o)
	}
	s := Options{Standalone: true, Customers: 500, Token: "ignored"}.withDefaults()
	if s.Token != standaloneToken || s.SelectPath != standaloneSelectPath || s.IDs != 500 || s.CachedKeys != 500 {
		t.Fatalf("got token %q, select path %q, ids %d, cached keys %d; want standalone's own, 500, 500", s.Token, s.SelectPath, s.IDs, s.CachedKeys)
	}
	if err := (Options{Standalone: true}).Validate(); err != nil {
		t.Fatalf("standalone with defaults: got %v; want valid", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	f := func(o Options, want string) {
		t.Helper()
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate(%+v): got %v; want an error containing %q", o, err, want)
		}
	}
	target := "http://127.0.0.1:8580"
	f(Options{}, "give a target URL")
	f(Options{Target: target, Standalone: true}, "not both")
	f(Options{Target: "127.0.0.1:8580"}, "target must be an http")
	f(Options{Target: target, Admin: "ftp://x"}, "admin must be an http")
	f(Options{Target: target, Scenarios: []string{"select", "nope"}}, `unknown scenario "nope"`)
	f(Options{Target: target, Coalesce: "off"}, "coalesce is for a standalone run")
	f(Options{Standalone: true, Coalesce: "yes"}, `coalesce must be auto, pipeline or off; got "yes"`)
	f(Options{Target: target, Duration: -time.Second}, "duration must be > 0")
	f(Options{Target: target, Connections: -1}, "connections must be > 0")
	f(Options{Target: target, BatchSize: 1001}, "batch size must be 1 to 1000")
	f(Options{Target: target, IDs: 10, CachedKeys: 20}, "must not exceed ids")
	f(Options{Target: target, ZipfS: 0.5}, "zipf s must be > 1")
	f(Options{Target: target, Tolerance: -0.1}, "tolerance must be >= 0")
	f(Options{Target: target, SelectPath: "/customers/1"}, "select path must hold {id}")
	f(Options{Target: target, RowsPath: "customers"}, "rows path must start with /")
	f(Options{Target: target, ProxyPath: "bench/proxy/"}, "proxy path must start with /")
	f(Options{Target: target, ProxyUpstream: "127.0.0.1:9001"}, "proxy upstream must be an http")
	f(Options{Standalone: true, ProxyUpstream: "http://127.0.0.1:9001"}, "standalone starts its own upstream")
	f(Options{Standalone: true, DatabaseURL: "postgres://localhost/db"}, "standalone measures its own cluster")
	f(Options{Target: target, LimitSQL: "SELECT 1"}, "exactly one parameter")
	if o := (Options{Target: target}).withDefaults(); !strings.Contains(o.LimitSQL, "FROM customer WHERE customer_id = $1") {
		t.Fatalf("got limit sql %q; want the demo's /customers/{id} statement", o.LimitSQL)
	}
	if o := (Options{Target: target, ProxyUpstream: "http://127.0.0.1:9001/"}).withDefaults(); o.ProxyUpstream != "http://127.0.0.1:9001" {
		t.Fatalf("got proxy upstream %q; want the trailing slash dropped", o.ProxyUpstream)
	}
}

func TestParseScenarios(t *testing.T) {
	f := func(in, want string, wantErr bool) {
		t.Helper()
		got, err := ParseScenarios(in)
		if (err != nil) != wantErr || strings.Join(got, ",") != want {
			t.Fatalf("ParseScenarios(%q): got %q, %v; want %q, error %v", in, got, err, want, wantErr)
		}
	}
	f("", strings.Join(Scenarios, ","), false)
	f("all", strings.Join(Scenarios, ","), false)
	f("peak, pool,peak", "peak,pool", false)
	f("peak,nope", "", true)
}

func TestProfileWindow(t *testing.T) {
	f := func(d, delay time.Duration, seconds int) {
		t.Helper()
		gotDelay, gotSeconds := profileWindow(d)
		if gotDelay != delay || gotSeconds != seconds {
			t.Fatalf("profileWindow(%s): got %s, %ds; want %s, %ds", d, gotDelay, gotSeconds, delay, seconds)
		}
	}
	f(time.Second, 100*time.Millisecond, 1)
	f(5*time.Second, 500*time.Millisecond, 4)
	f(30*time.Second, time.Second, 29)
	f(200*time.Millisecond, 20*time.Millisecond, 1)
}
