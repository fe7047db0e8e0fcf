package config

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestAccessLogForms(t *testing.T) {
	f := func(input string, want AccessLog) {
		t.Helper()
		c, err := Parse([]byte(input), "")
		if err != nil {
			t.Fatalf("%s: unexpected error: %v", input, err)
		}
		if c.Log.Access != want {
			t.Errorf("%s: got %+v; want %+v", input, c.Log.Access, want)
		}
	}
	f("log: {}", AccessLog{})
	f("log: {access: false}", AccessLog{Format: "json"})
	f("log: {access: true}", AccessLog{Enabled: true, Format: "json"})
	f("log: {access: on}", AccessLog{Enabled: true, Format: "json"})
	f("log: {access: {}}", AccessLog{Enabled: true, Format: "json"})
	f("log: {access: {file: /var/log/pgfast/access.log}}", AccessLog{Enabled: true, Format: "json", File: "/var/log/pgfast/access.log"})
	f(`log: {access: {format: '{method} {path} {status} "{header.User-Agent}" {{x}}'}}`,
		AccessLog{Enabled: true, Format: `{method} {path} {status} "{header.User-Agent}" {{x}}`})
	f(`{"log": {"access": true}}`, AccessLog{Enabled: true, Format: "json"})
	f(`{"log": {"access": {"format": "{request_id}", "file": "a.log"}}}`, AccessLog{Enabled: true, Format: "{request_id}", File: "a.log"})
}

func TestAccessLogErrors(t *testing.T) {
	f := func(input string, want ...string) {
		t.Helper()
		_, err := Parse([]byte(input), "yaml")
		wantErrs(t, input, err, want...)
	}
	f("log:\n  access: 1\n", `config: log.access: must be true, false or a map with format and file; got 1 (line 2)`)
	f("log:\n  access: [a]\n", `config: log.access: must be true, false or a map with format and file; got a list (line 2)`)
	f("log:\n  access: maybe\n", `config: log.access: must be true, false or a map with format and file; got "maybe" (line 2)`)
	f("log:\n  access: {fromat: json}\n", `config: log.access.fromat: unknown key (did you mean "format"? known keys: format, file) (line 2)`)
	f("log:\n  access: {format: ''}\n", `config: log.access.format: must be "json" or a template such as "{method} {path} {status}" (line 2)`)
	f("log:\n  access: {format: '{method} {nope}'}\n",
		`config: log.access.format: unknown field {nope} (want {method}, {path}, {status}, {bytes}, {duration_ms}, {client_ip}, {route}, {account}, {cache}, {upstream}, {request_id} or {header.NAME}) (line 2)`)
	f("log:\n  access: {format: '{header.a b}'}\n", `config: log.access.format: {header.a b}: "a b" is not a header name (line 2)`)
	f("log:\n  access: {format: '{method'}\n", `config: log.access.format: unclosed { at byte 0 of "{method" (write {{ for a literal brace) (line 2)`)
	f("log:\n  access: {format: 'a } b'}\n", `config: log.access.format: stray } at byte 2 of "a } b" (write }} for a literal brace) (line 2)`)
}

func TestParseAccessFormat(t *testing.T) {
	parts, err := ParseAccessFormat(`{client_ip} "{method}" {header.x-id}{{`)
	if err != nil {
		t.Fatal(err)
	}
	want := []TemplatePart{{Source: "client_ip"}, {Literal: ` "`}, {Source: "method"}, {Literal: `" `}, {Source: "header", Name: "x-id"}, {Literal: "{"}}
	if len(parts) != len(want) {
		t.Fatalf("got %+v; want %+v", parts, want)
	}
	for i := range want {
		if parts[i] != want[i] {
			t.Errorf("part %d: got %+v; want %+v", i, parts[i], want[i])
		}
	}
	if parts, err := ParseAccessFormat("json"); parts != nil || err != nil {
		t.Fatalf(`"json": got %v, %v; want nil, nil`, parts, err)
	}
}

// TestAccessLogMarshalRoundTrip: a config written out reads back the same.
func TestAccessLogMarshalRoundTrip(t *testing.T) {
	f := func(a AccessLog) {
		t.Helper()
		out, err := yaml.Marshal(struct {
			Log struct {
				Access AccessLog `yaml:"access"`
			} `yaml:"log"`
		}{Log: struct {
			Access AccessLog `yaml:"access"`
		}{a}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(out, "yaml")
		if err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if c.Log.Access.Enabled != a.Enabled || a.Enabled && c.Log.Access != a {
			t.Errorf("%s: read back %+v; want %+v", out, c.Log.Access, a)
		}
	}
	f(AccessLog{})
	f(AccessLog{Enabled: true, Format: "json"})
	f(AccessLog{Enabled: true, Format: "{path} {status}", File: "a.log"})
}

func TestSampleAccessLog(t *testing.T) {
	c := loadSample(t, "full.yaml")
	if a := c.Log.Access; !a.Enabled || a.File != "" || a.Format[:12] != "{client_ip} " {
		t.Fatalf("full.yaml log.access: got %+v", a)
	}
}
