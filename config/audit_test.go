package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuditForms(t *testing.T) {
	f := func(yaml string, want Audit) {
		t.Helper()
		c, err := Parse([]byte(yaml), "yaml")
		if err != nil {
			t.Fatalf("%s: unexpected error: %v", yaml, err)
		}
		if c.Log.Audit != want {
			t.Errorf("%s: got %+v; want %+v", yaml, c.Log.Audit, want)
		}
	}
	def := OpenSearch{Index: "pgfast-audit", Batch: 500, FlushInterval: Duration(time.Second)}
	f("log: {}", Audit{OpenSearch: def})
	f("log: {audit: /var/log/pgfast/audit.log}", Audit{File: "/var/log/pgfast/audit.log", OpenSearch: def})
	f("log: {audit: {file: a.log, routes: true}}", Audit{File: "a.log", Routes: true, OpenSearch: def})
	f("log: {audit: {opensearch: {url: 'http://os:9200', batch: 50}}}",
		Audit{OpenSearch: OpenSearch{URL: "http://os:9200", Index: "pgfast-audit", Batch: 50, FlushInterval: Duration(time.Second)}})
	f(`{"log": {"audit": {"routes": true, "opensearch": {"url": "https://os", "index": "a", "flush_interval": "250ms"}}}}`,
		Audit{Routes: true, OpenSearch: OpenSearch{URL: "https://os", Index: "a", Batch: 500, FlushInterval: Duration(250 * time.Millisecond)}})
}

func TestAuditErrors(t *testing.T) {
	f := func(yaml string, want ...string) {
		t.Helper()
		_, err := Parse([]byte(yaml), "yaml")
		if err == nil {
			t.Fatalf("%s: got no error; want %q", yaml, want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: got %v; want it to say %q", yaml, err, w)
			}
		}
	}
	f("log: {audit: {fil: a.log}}", `config: log.audit.fil: unknown key`)
	f("log: {audit: [a]}", `config: log.audit: must be a string, got`)
	f("log: {audit: {opensearch: {url: 'os:9200', batch: 0, flush_interval: 0s, index: ''}}}",
		`config: log.audit.opensearch.url: must be an http:// or https:// URL, got "os:9200"`,
		`config: log.audit.opensearch.index: must name an index`,
		`config: log.audit.opensearch.batch: must be > 0, got 0`,
		`config: log.audit.opensearch.flush_interval: must be > 0, got 0s`)
}

func TestLoadOpenSearchEnv(t *testing.T) {
	f := func(env map[string]string, want OpenSearch) {
		t.Helper()
		c, err := Load(LoadOptions{Env: envOf(env)})
		if err != nil {
			t.Fatalf("%v: unexpected error: %v", env, err)
		}
		got := c.Log.Audit.OpenSearch
		got.Index, got.Batch, got.FlushInterval = "", 0, 0
		if got != want {
			t.Errorf("%v: got %+v; want %+v", env, got, want)
		}
	}
	f(nil, OpenSearch{})
	f(map[string]string{"OPENSEARCH_API_URL": "http://os:9200", "OPENSEARCH_API_TOKEN": "tok"}, OpenSearch{})
	f(map[string]string{"OPENSEARCH_ENABLED": "false", "OPENSEARCH_API_URL": "http://os:9200"}, OpenSearch{})
	f(map[string]string{"OPENSEARCH_ENABLED": "true", "OPENSEARCH_API_URL": "http://os:9200", "OPENSEARCH_API_TOKEN": "tok"},
		OpenSearch{URL: "http://os:9200", Token: "tok"})

	_, err := Load(LoadOptions{Env: envOf(map[string]string{"OPENSEARCH_ENABLED": "true"})})
	wantErrs(t, "env", err, `config: env OPENSEARCH_ENABLED: true needs OPENSEARCH_API_URL (or log.audit.opensearch.url)`)
	_, err = Load(LoadOptions{Env: envOf(map[string]string{"OPENSEARCH_ENABLED": "maybe"})})
	wantErrs(t, "env", err, `config: env OPENSEARCH_ENABLED: must be true or false, got "maybe"`)
}
