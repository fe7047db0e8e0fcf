package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const samples = "../testdata/config"

// sampleEnv holds the secrets full.yaml reads with env:NAME.
var sampleEnv = map[string]string{
	"PGFAST_REPLICA_URL":      "postgres://replica:replica-pw@10.0.0.2:5432/pgfast",
	"PGFAST_EXAMPLE_TOKEN":    "sk_live_example_token_from_env",
	"JWT_SECRET":              "an-hs256-secret-of-at-least-32-bytes!",
	"PGFAST_OPENSEARCH_TOKEN": "admin:opensearch-pw",
}

func loadSample(t *testing.T, name string) *Config {
	t.Helper()
	c, err := Load(LoadOptions{File: filepath.Join(samples, name), Env: envOf(sampleEnv)})
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", name, err)
	}
	return c
}

func TestSampleFull(t *testing.T) {
	c := loadSample(t, "full.yaml")
	main, replica := c.Databases["main"], c.Databases["replica"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"databases", len(c.Databases), 3},
		{"main.min_conns", main.MinConns, 2},
		{"main.max_concurrent_queries", main.MaxConcurrentQueries, 16},
		{"main.settings", fmt.Sprint(main.Settings), "map[enable_seqscan:off jit:off random_page_cost:1.1 work_mem:64MB]"},
		{"main.max_lifetime", main.MaxLifetime.Std(), time.Hour},
		{"cache.prewarm", fmt.Sprint(c.Cache.Prewarm), "[{customer map[path.id:1]}]"},
		{"replica.url", replica.URL.Value(), sampleEnv["PGFAST_REPLICA_URL"]},
		{"replica.statement_cache", replica.StatementCache, StatementCacheDescribe},
		{"replica.max_concurrent_queries", replica.MaxConcurrentQueries, 40},
		{"account:acc_hashed.max_conns", c.Databases["account:acc_hashed"].MaxConns, 4},
		{"accounts[0].api_token", c.Accounts[0].APIToken.Value(), sampleEnv["PGFAST_EXAMPLE_TOKEN"]},
		{"accounts[0].allowed_operations", fmt.Sprint(c.Accounts[0].AllowedOperations), "[SELECT INSERT]"},
		{"accounts[0].rate_limit", *c.Accounts[0].RateLimit, RateLimit{Rate{100, time.Second}, 100}},
		{"accounts[0].query_timeout", c.Accounts[0].QueryTimeout.Std(), 5 * time.Second},
		{"accounts[1].database", c.Accounts[1].Database, "account:acc_hashed"},
		{"accounts[1].rate_limit", c.Accounts[1].RateLimit.String(), "6000/min burst 100"},
		{"accounts[1].query_timeout", c.Accounts[1].QueryTimeout.Std(), 30 * time.Second},
		{"routes[0].params", fmt.Sprint(c.Routes[0].Params), "[path.id]"},
		{"routes[0].timeout", c.Routes[0].Timeout.Std(), 100 * time.Millisecond},
		{"routes[1].params", fmt.Sprint(c.Routes[1].Params), `[query.limit default "100" max 1000 query.offset default "0"]`},
		{"routes[1].rate_limit", c.Routes[1].RateLimit.String(), "200/s burst 400"},
		{"routes[1].timeout", c.Routes[1].Timeout.Std(), 5 * time.Second},
		{"routes[2].params", fmt.Sprint(c.Routes[2].Params), "[jwt.sub required]"},
		{"routes[2].rate_limit", c.Routes[2].RateLimit == nil, true},
		{"routes[3].method", c.Routes[3].Methods, Methods{"POST"}},
		{"upstreams.users.targets", c.Upstreams["users"].Targets, []Target{{"http://127.0.0.1:9001", 2}, {"https://users-2.internal:9443", 1}}},
		{"upstreams.users.circuit_breaker.error_ratio", c.Upstreams["users"].CircuitBreaker.ErrorRatio, 0.5},
		{"upstreams.users.tls.ca_file", c.Upstreams["users"].TLS.CAFile, filepath.Join(samples, "keys/ca.pem")},
		{"upstreams.billing.health_check", c.Upstreams["billing"].HealthCheck, (*HealthCheck)(nil)},
		{"routes[4].method", c.Routes[4].Methods, Methods{"GET", "POST"}},
		{"routes[4].backend", c.Routes[4].Backend(), BackendUpstream},
		{"routes[4].max_body_bytes", c.Routes[4].MaxBodyBytes, 256 * MiB},
		{"routes[4].request_headers.set", c.Routes[4].RequestHeaders.Set["X-User-Id"], "{jwt.sub}"},
		{"routes[5].method", c.Routes[5].Methods, Methods(nil)},
		{"routes[5].max_body_bytes", c.Routes[5].MaxBodyBytes, MiB},
		{"routes[6].static.dir", c.Routes[6].Static.Dir, filepath.Join(samples, "public")},
		{"routes[6].method", c.Routes[6].Methods, Methods{"GET", "HEAD"}},
		{"routes[7].mock", *c.Routes[7].Mock, Mock{Status: 410, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "gone"}},
		{"limits", c.Limits.DefaultLimit().String(), "1000/s burst 2000"},
		{"auth.jwt.secret", c.Auth.JWT.Secret.Value(), sampleEnv["JWT_SECRET"]},
		{"auth.jwt.public_keys", c.Auth.JWT.PublicKeys[0], filepath.Join(samples, "keys/rs.pem")},
		{"log.audit.opensearch", c.Log.Audit.OpenSearch, OpenSearch{URL: "https://opensearch.internal:9200",
			Token: Secret(sampleEnv["PGFAST_OPENSEARCH_TOKEN"]), Index: "pgfast-audit", Batch: 500, FlushInterval: Duration(time.Second)}},
		{"tracing", c.Tracing, Tracing{OTLPEndpoint: "http://otel-collector.internal:4318", Sample: 0.25, ServiceName: "pgfast-api"}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %v; want %v", ch.name, ch.got, ch.want)
		}
	}
	if _, err := os.Stat(c.Auth.JWT.PublicKeys[0]); err != nil {
		t.Errorf("the sample's public key is missing: %v", err)
	}

	// The JSON sample is the same configuration.
	j := loadSample(t, "full.json")
	if !reflect.DeepEqual(plain(c), plain(j)) {
		t.Fatalf("full.json differs from full.yaml:\n%+v\n%+v", plain(j), plain(c))
	}
}

// schemaPaths lists every key the config reads, lists written [] and map keys *.
func schemaPaths(t reflect.Type, path string, out *[]string) {
	switch t {
	case reflect.TypeFor[RouteParam]():
		t = reflect.TypeFor[routeParamMap]()
	case reflect.TypeFor[RateLimit]():
		t = reflect.TypeFor[rateLimitMap]()
	case durationType, byteSizeType, secretType, reflect.TypeFor[Rate](), reflect.TypeFor[Settings](), nodePtrType:
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		schemaPaths(t.Elem(), path, out)
	case reflect.Slice:
		schemaPaths(t.Elem(), path+"[]", out)
	case reflect.Map:
		schemaPaths(t.Elem(), path+".*", out)
	case reflect.Struct:
		si := structInfoOf(t)
		for _, k := range si.keys {
			p := joinPath(path, k)
			*out = append(*out, p)
			schemaPaths(t.Field(si.index[k]).Type, p, out)
		}
	}
}

func TestSampleFullHasEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(samples, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := decodeConfig(data, "yaml", "full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	index := regexp.MustCompile(`\[\d+\]`)
	mapName := regexp.MustCompile(`^(databases|upstreams)\.[A-Za-z0-9_-]+`)
	written := make(map[string]bool)
	for p := range c.origin {
		written[mapName.ReplaceAllString(index.ReplaceAllString(p, "[]"), "$1.*")] = true
	}
	var keys []string
	schemaPaths(reflect.TypeFor[Config](), "", &keys)
	if len(keys) < 100 {
		t.Fatalf("schema walk found only %d keys", len(keys))
	}
	for _, k := range keys {
		if !written[k] {
			t.Errorf("full.yaml does not set %s", k)
		}
	}
}

func TestSampleBadUnknownKey(t *testing.T) {
	file := filepath.Join(samples, "bad_unknown_key.yaml")
	_, err := Load(LoadOptions{File: file, Env: envOf(nil)})
	wantErrs(t, file, err,
		`config: servr: unknown key (did you mean "server"? known keys: server, databases, accounts, upstreams, routes, cache, limits, auth, log, script_limits, openapi, tracing, data_dir) (`+file+`:3)`,
		`config: routes[0].metod: unknown key (did you mean "method"? known keys: name, host, method, path, sql, upstream, static, mock, params, auth, rate_limit, cache, cache_key, stale_if_error, stale_while_revalidate, max_body_bytes, response_headers, script, result, invalidate_on, timeout, settings, coalesce, database, rewrite, host_header, request_headers) (`+file+`:7)`)
}

func TestSamplePGAPI(t *testing.T) {
	c, err := Load(LoadOptions{Dir: filepath.Join(samples, "pgapi"), Env: envOf(nil)})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	main := c.Databases["main"]
	if c.Server.Addr != "0.0.0.0:8080" || c.Log.Level != "info" || main.URL.Value() != "postgres://pgapi:pgapi@127.0.0.1:5432/pgapi?sslmode=disable" ||
		main.MaxConns != 10 || main.MaxConcurrentQueries != 100 {
		t.Fatalf("server.json: got addr %q level %q main %+v", c.Server.Addr, c.Log.Level, main)
	}
	if len(c.Accounts) != 2 {
		t.Fatalf("accounts.json: got %d accounts; want 2", len(c.Accounts))
	}
	a, w := c.Accounts[0], c.Accounts[1]
	if a.ID != "acc_example" || a.Role != "app_ro" || a.RateLimit.String() != "100/s" || a.QueryTimeout.Std() != 5*time.Second || a.MaxRows != 10000 {
		t.Fatalf("accounts[0]: got %+v", a)
	}
	if w.Database != "main" || w.RateLimit.String() != "6000/min" || !slices.Equal(w.AllowedOperations, []string{"SELECT", "INSERT", "UPDATE", "DELETE"}) || w.MaxRows != 0 {
		t.Fatalf("accounts[1]: got %+v", w)
	}
	if c.Source != filepath.Join(samples, "pgapi") {
		t.Fatalf("Source: got %q", c.Source)
	}
}

func TestConfigRedaction(t *testing.T) {
	c := loadSample(t, "full.yaml")
	c.Databases["main"].URL = "postgres://app:main-db-password@h/db"
	secrets := []string{"main-db-password", "replica-pw", sampleEnv["PGFAST_EXAMPLE_TOKEN"], sampleEnv["JWT_SECRET"], sampleEnv["PGFAST_OPENSEARCH_TOKEN"]}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	ys, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%v of the value": fmt.Sprintf("%+v", *c), "%v of a database": fmt.Sprintf("%+v %v", *c.Databases["main"], c.Databases),
		"%v of accounts": fmt.Sprintf("%+v", c.Accounts), "json": string(js), "yaml": string(ys),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output shows the secret %q", name, s)
			}
		}
	}
	if out := outputs["%v of a database"]; !strings.Contains(out, "URL:***") {
		t.Errorf("%%+v of a database: got %s; want URL:***", out)
	}
}
