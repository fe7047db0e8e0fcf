package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestValidateUpstreams(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		c, err := Parse([]byte(src), "yaml")
		if c != nil {
			t.Fatalf("%q: got a config with the error", src)
		}
		wantErrs(t, src, err, want...)
	}
	const u = "upstreams:\n  u:\n    targets: [{url: 'http://h:1'}]\n"

	// targets
	f("upstreams:\n  u: {}\n", `config: upstreams.u.targets: needs at least one target (line 2)`)
	f("upstreams:\n  u:\n", `config: upstreams.u.targets: needs at least one target (line 2)`)
	f("upstreams:\n  u.v: {targets: [{url: 'http://h'}]}\n", `config: upstreams["u.v"]: names may hold letters, digits, _ and - only (line 2)`)
	f("upstreams:\n  u:\n    targets:\n      - {url: '127.0.0.1:9001'}\n      - {url: 'localhost:9001'}\n      - {url: 'ftp://h'}\n      - {url: ''}\n",
		`config: upstreams.u.targets[0].url: must be an http:// or https:// URL such as http://127.0.0.1:9001, got "127.0.0.1:9001" (line 4)`,
		`config: upstreams.u.targets[1].url: must be an http:// or https:// URL such as http://127.0.0.1:9001, got "localhost:9001" (line 5)`,
		`config: upstreams.u.targets[2].url: must be an http:// or https:// URL such as http://127.0.0.1:9001, got "ftp://h" (line 6)`,
		`config: upstreams.u.targets[3].url: must be an http:// or https:// URL such as http://127.0.0.1:9001, got "" (line 7)`)
	f("upstreams:\n  u:\n    targets:\n      - {url: 'http://'}\n      - {url: 'http://h:0'}\n      - {url: 'http://h:99999'}\n",
		`config: upstreams.u.targets[0].url: needs a host, got "http://" (line 4)`,
		`config: upstreams.u.targets[1].url: port must be 1 to 65535, got "http://h:0" (line 5)`,
		`config: upstreams.u.targets[2].url: port must be 1 to 65535, got "http://h:99999" (line 6)`)
	f("upstreams:\n  u:\n    targets:\n      - {url: 'http://h/api'}\n      - {url: 'http://h?x=1'}\n      - {url: 'http://h#top'}\n",
		`config: upstreams.u.targets[0].url: must have no path, query or fragment (a route's rewrite sets the upstream path), got "http://h/api" (line 4)`,
		`config: upstreams.u.targets[1].url: must have no path, query or fragment (a route's rewrite sets the upstream path), got "http://h?x=1" (line 5)`,
		`config: upstreams.u.targets[2].url: must have no path, query or fragment (a route's rewrite sets the upstream path), got "http://h#top" (line 6)`)
	// The password is not shown.
	f("upstreams:\n  u:\n    targets: [{url: 'http://user:hunter2@h:1'}]\n",
		`config: upstreams.u.targets[0].url: must not hold user info (send credentials with request_headers), got "http://user:xxxxx@h:1" (line 3)`)
	// Duplicates compare scheme, host and port, the default port written or not.
	f("upstreams:\n  u:\n    targets:\n      - {url: 'http://H:80/'}\n      - {url: 'http://h'}\n      - {url: 'https://h'}\n      - {url: 'http://[::1]:8080'}\n      - {url: 'http://[::1]:8080/'}\n",
		`config: upstreams.u.targets[1].url: http://h:80 is also targets[0] (line 5)`,
		`config: upstreams.u.targets[4].url: http://[::1]:8080 is also targets[3] (line 8)`)
	f("upstreams:\n  u:\n    targets: [{url: 'http://h:1', weight: 0}, {url: 'http://h:2', weight: -1}]\n",
		`config: upstreams.u.targets[0].weight: must be > 0, got 0 (line 3)`,
		`config: upstreams.u.targets[1].weight: must be > 0, got -1 (line 3)`)
	f("upstreams:\n  u:\n    targets: [{url: 'http://h:1', wieght: 2}]\n",
		`config: upstreams.u.targets[0].wieght: unknown key (did you mean "weight"? known keys: url, weight) (line 3)`)

	// balance and hash_key
	f(u+"    balance: random\n", `config: upstreams.u.balance: must be one of round_robin, least_conn, hash; got "random" (line 4)`)
	f(u+"    balance: hash\n", `config: upstreams.u.hash_key: required with balance: hash (header.X, query.X, path.X, jwt.X or ip) (line 3)`)
	f(u+"    balance: hash\n    hash_key: cookie.sid\n", `config: upstreams.u.hash_key: unknown placeholder "cookie.sid" (want path.X, query.X, header.X, jwt.X or ip) (line 5)`)
	f(u+"    balance: hash\n    hash_key: request_id\n", `config: upstreams.u.hash_key: unknown placeholder "request_id" (want path.X, query.X, header.X, jwt.X or ip) (line 5)`)
	f(u+"    balance: hash\n    hash_key: header.\n", `config: upstreams.u.hash_key: "header." needs a name after the dot, such as header.id (line 5)`)
	f(u+"    balance: hash\n    hash_key: 'header.X Y'\n", `config: upstreams.u.hash_key: "header.X Y": not a header name (line 5)`)
	f(u+"    hash_key: ip\n", `config: upstreams.u.hash_key: applies to balance: hash only, got balance "round_robin" (line 4)`)

	// timeouts and counts
	f(u+"    connect_timeout: 0\n    max_conns_per_target: 0\n    retries: -1\n",
		`config: upstreams.u.connect_timeout: must be > 0, got 0s (line 4)`,
		`config: upstreams.u.max_conns_per_target: must be > 0, got 0 (line 5)`,
		`config: upstreams.u.retries: must be >= 0 (0 never retries), got -1 (line 6)`)
	f(u+"    timeout: -1s\n", `config: upstreams.u.timeout: must not be negative, got "-1s" (line 4)`)

	// health_check
	f(u+"    health_check: {}\n", `config: upstreams.u.health_check.path: must start with /, got "" (line 4)`)
	f(u+"    health_check: {path: health, interval: 0, timeout: 0, healthy: 0, unhealthy: -1}\n",
		`config: upstreams.u.health_check.path: must start with /, got "health" (line 4)`,
		`config: upstreams.u.health_check.interval: must be > 0, got 0s (line 4)`,
		`config: upstreams.u.health_check.timeout: must be > 0, got 0s (line 4)`,
		`config: upstreams.u.health_check.healthy: must be at least 1, got 0 (line 4)`,
		`config: upstreams.u.health_check.unhealthy: must be at least 1, got -1 (line 4)`)
	f(u+"    health_check: {path: /h, interval: 1s, timeout: 2s}\n", `config: upstreams.u.health_check.timeout: must not exceed interval (1s), got 2s (line 4)`)
	f(u+"    health_check: {path: /h, every: 1s}\n",
		`config: upstreams.u.health_check.every: unknown key (known keys: path, interval, timeout, healthy, unhealthy) (line 4)`)

	// circuit_breaker
	f(u+"    circuit_breaker: {failures: 0, window: 0, error_ratio: 0, min_requests: 0, open_for: 0, half_open_requests: 0}\n",
		`config: upstreams.u.circuit_breaker.failures: must be at least 1, got 0 (line 4)`,
		`config: upstreams.u.circuit_breaker.window: must be > 0, got 0s (line 4)`,
		`config: upstreams.u.circuit_breaker.error_ratio: must be in (0, 1], such as 0.5, got 0 (line 4)`,
		`config: upstreams.u.circuit_breaker.min_requests: must be at least 1, got 0 (line 4)`,
		`config: upstreams.u.circuit_breaker.open_for: must be > 0, got 0s (line 4)`,
		`config: upstreams.u.circuit_breaker.half_open_requests: must be at least 1, got 0 (line 4)`)
	f(u+"    circuit_breaker: {error_ratio: 1.5}\n", `config: upstreams.u.circuit_breaker.error_ratio: must be in (0, 1], such as 0.5, got 1.5 (line 4)`)
	f(u+"    circuit_breaker: {error_ratio: half}\n", `config: upstreams.u.circuit_breaker.error_ratio: must be a number, got "half" (line 4)`)
	f(u+"    circuit_breaker: {error_ratio: .nan}\n", `config: upstreams.u.circuit_breaker.error_ratio: must be a number, got .nan (line 4)`)

	// tls
	f(u+"    tls: {server_name: api.internal}\n", `config: upstreams.u.tls: applies to https:// targets only, and this upstream has none (line 4)`)
	f("upstreams:\n  u:\n    targets: [{url: 'https://h'}]\n    tls: {ca_file: ca.pem, insecure_skip_verify: true, server_name: 'bad name'}\n",
		`config: upstreams.u.tls: set ca_file or insecure_skip_verify, not both (line 4)`,
		`config: upstreams.u.tls.server_name: must be a host name such as api.internal, got "bad name" (line 4)`)
	f("upstreams:\n  u:\n    targets: [{url: 'https://h'}]\n    tls: {insecure_skip_verify: maybe}\n",
		`config: upstreams.u.tls.insecure_skip_verify: must be true or false, got "maybe" (line 4)`)
}

func TestUpstreamDefaults(t *testing.T) {
	c, err := Parse([]byte("upstreams:\n  u:\n    targets: [{url: 'http://h:1'}, {url: 'https://h:2', weight: 3}]\n    health_check: {path: /health}\n    circuit_breaker: {}\n"), "yaml")
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	got := c.Upstreams["u"]
	want := NewUpstream("http://h:1", "https://h:2")
	want.Targets[1].Weight = 3
	want.HealthCheck = &HealthCheck{Path: "/health", Interval: Duration(2 * time.Second), Timeout: Duration(time.Second), Healthy: 2, Unhealthy: 3}
	want.CircuitBreaker = &CircuitBreaker{Failures: 5, Window: Duration(10 * time.Second), ErrorRatio: 0.5, MinRequests: 20,
		OpenFor: Duration(30 * time.Second), HalfOpenRequests: 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v; want %+v", *got, *want)
	}
	if got.Balance != BalanceRoundRobin || got.ConnectTimeout.Std() != time.Second || got.Timeout.Std() != 10*time.Second ||
		got.MaxConnsPerTarget != 512 || got.Retries != 2 || !got.TLS.IsZero() {
		t.Fatalf("defaults: got %+v", *got)
	}

	// Absent sections stay absent: no active checks, no breaker. Explicit zeros stay.
	c, err = Parse([]byte("upstreams:\n  u:\n    targets: [{url: 'http://h:1'}]\n    timeout: 0\n    retries: 0\n"), "yaml")
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if u := c.Upstreams["u"]; u.HealthCheck != nil || u.CircuitBreaker != nil || u.Timeout != 0 || u.Retries != 0 {
		t.Fatalf("got %+v; want no health check, no breaker, timeout and retries 0", *u)
	}

	// A Go literal gets its balance from withDefaults; nil is refused.
	c = Default()
	c.Upstreams = map[string]*Upstream{"a": {Targets: []Target{{URL: "http://h", Weight: 1}}, ConnectTimeout: Duration(time.Second), MaxConnsPerTarget: 1}, "b": nil}
	c.withDefaults()
	wantErrs(t, "literal", c.Validate(), `config: upstreams.b: must not be empty`)
	if c.Upstreams["a"].Balance != BalanceRoundRobin {
		t.Fatalf("balance: got %q; want round_robin", c.Upstreams["a"].Balance)
	}
}

func TestLoadChecksFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "pgfast.yaml")
	load := func(caFile, staticDir string) (*Config, error) {
		t.Helper()
		src := fmt.Sprintf("upstreams:\n  u: {targets: [{url: 'https://h'}], tls: {ca_file: %s}}\nroutes:\n  - {name: s, path: /s/*, static: {dir: %s}}\n", caFile, staticDir)
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return Load(LoadOptions{File: file, Env: envOf(nil)})
	}

	c, err := load("ca.pem", "public")
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if got := c.Routes[0].Static.Dir; got != filepath.Join(dir, "public") {
		t.Fatalf("static.dir: got %q; want it relative to the config file", got)
	}
	if got := c.Upstreams["u"].TLS.CAFile; got != filepath.Join(dir, "ca.pem") {
		t.Fatalf("tls.ca_file: got %q; want it relative to the config file", got)
	}

	_, err = load("missing.pem", "ca.pem")
	wantErrs(t, "missing files", err,
		`config: routes[0].static.dir: "`+filepath.Join(dir, "ca.pem")+`" is not a directory (`+file+`:4)`,
		`config: upstreams.u.tls.ca_file: "`+filepath.Join(dir, "missing.pem")+`" does not exist (`+file+`:2)`)
	_, err = load("public", "nowhere")
	wantErrs(t, "directories", err,
		`config: routes[0].static.dir: "`+filepath.Join(dir, "nowhere")+`" does not exist (`+file+`:4)`,
		`config: upstreams.u.tls.ca_file: "`+filepath.Join(dir, "public")+`" is a directory; want a file (`+file+`:2)`)

	// Parse and Validate do not touch the file system.
	if _, err := Parse([]byte("upstreams:\n  u: {targets: [{url: 'https://h'}], tls: {ca_file: /nowhere.pem}}\nroutes:\n  - {name: s, path: /s/*, static: {dir: /nowhere}}\n"), "yaml"); err != nil {
		t.Fatalf("Parse checked files: %v", err)
	}
}
