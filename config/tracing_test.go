package config

import (
	"strings"
	"testing"
)

func TestTracingForms(t *testing.T) {
	f := func(yaml string, want Tracing) {
		t.Helper()
		c, err := Parse([]byte(yaml), "yaml")
		if err != nil {
			t.Fatalf("%s: unexpected error: %v", yaml, err)
		}
		if c.Tracing != want {
			t.Errorf("%s: got %+v; want %+v", yaml, c.Tracing, want)
		}
	}
	f("log: {}", Tracing{Sample: 0.1, ServiceName: "pgfast"})
	f("tracing: {otlp_endpoint: 'http://otel:4318'}", Tracing{OTLPEndpoint: "http://otel:4318", Sample: 0.1, ServiceName: "pgfast"})
	f("tracing: {otlp_endpoint: 'https://otel/base', sample: 0, service_name: api}", Tracing{OTLPEndpoint: "https://otel/base", ServiceName: "api"})
	f(`{"tracing": {"otlp_endpoint": "http://otel:4318", "sample": 1}}`, Tracing{OTLPEndpoint: "http://otel:4318", Sample: 1, ServiceName: "pgfast"})
}

func TestTracingErrors(t *testing.T) {
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
	f("tracing: {sample: 1.5}", `config: tracing.sample: must be between 0 and 1, got 1.5`)
	f("tracing: {sample: -0.1}", `config: tracing.sample: must be between 0 and 1, got -0.1`)
	f("tracing: {otlp_endpoint: 'otel:4318', service_name: ''}",
		`config: tracing.otlp_endpoint: must be an http:// or https:// base URL (/v1/traces is appended), got "otel:4318"`,
		`config: tracing.service_name: must not be empty`)
	f("tracing: {otlp_endpont: 'http://otel:4318'}", `config: tracing.otlp_endpont: unknown key (did you mean "otlp_endpoint"?`)
}
