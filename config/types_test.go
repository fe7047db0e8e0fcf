package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// node parses one YAML value into its node.
func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("cannot parse %q: %v", src, err)
	}
	return doc.Content[0]
}

func TestParseDuration(t *testing.T) {
	f := func(in string, want time.Duration) {
		t.Helper()
		got, err := ParseDuration(in)
		if err != nil {
			t.Fatalf("ParseDuration(%q): unexpected error: %v", in, err)
		}
		if got.Std() != want {
			t.Fatalf("ParseDuration(%q): got %s; want %s", in, got, want)
		}
		if back, err := ParseDuration(got.String()); err != nil || back != got {
			t.Fatalf("ParseDuration(%q) does not round-trip: got %s, %v", got.String(), back, err)
		}
	}
	f("100ms", 100*time.Millisecond)
	f("1m30s", 90*time.Second)
	f("30", 30*time.Second)
	f("1.5", 1500*time.Millisecond)
	f(" 2h ", 2*time.Hour)
	f("0", 0)
	f("0s", 0)

	bad := func(in, want string) {
		t.Helper()
		_, err := ParseDuration(in)
		if err == nil || err.Error() != want {
			t.Fatalf("ParseDuration(%q): got error %v; want %q", in, err, want)
		}
	}
	bad("6Os", `cannot parse duration "6Os"`)
	bad("-1s", `must not be negative, got "-1s"`)
	bad("-5", `must not be negative, got "-5"`)
	bad("", `cannot parse duration "": empty`)
	bad("NaN", `cannot parse duration "NaN"`)
	bad("1e300", `cannot parse duration "1e300": too long`)
}

func TestDurationYAML(t *testing.T) {
	f := func(src string, want time.Duration, wantErr string) {
		t.Helper()
		var d Duration
		err := d.UnmarshalYAML(node(t, src))
		if wantErr != "" {
			if err == nil || err.Error() != wantErr {
				t.Fatalf("%q: got error %v; want %q", src, err, wantErr)
			}
			return
		}
		if err != nil || d.Std() != want {
			t.Fatalf("%q: got %s, %v; want %s", src, d, err, want)
		}
	}
	f("45", 45*time.Second, "")
	f("0.25", 250*time.Millisecond, "")
	f(`"5m"`, 5*time.Minute, "")
	f("true", 0, `must be a duration such as "30s", got boolean true`)
	f("[1s]", 0, `must be a duration such as "30s", got a list`)
}

func TestParseByteSize(t *testing.T) {
	f := func(in string, want ByteSize, wantString string) {
		t.Helper()
		got, err := ParseByteSize(in)
		if err != nil {
			t.Fatalf("ParseByteSize(%q): unexpected error: %v", in, err)
		}
		if got != want {
			t.Fatalf("ParseByteSize(%q): got %d; want %d", in, got, want)
		}
		if got.String() != wantString {
			t.Fatalf("ByteSize(%d).String(): got %q; want %q", got, got.String(), wantString)
		}
		if back, err := ParseByteSize(got.String()); err != nil || back != got {
			t.Fatalf("ParseByteSize(%q) does not round-trip: got %d, %v", got.String(), back, err)
		}
	}
	f("1024", 1024, "1KiB")
	f("1000", 1000, "1KB")
	f("1MiB", 1<<20, "1MiB")
	f("64MB", 64_000_000, "64MB")
	f("512KB", 512_000, "500KiB")
	f("1GiB", 1<<30, "1GiB")
	f("1.5GiB", 3<<29, "1536MiB")
	f("1.1MB", 1_100_000, "1100KB")
	f("2 kib", 2048, "2KiB")
	f("8TiB", 8<<40, "8TiB")
	f("123", 123, "123B")
	f("7B", 7, "7B")
	f("0", 0, "0B")
	f("1_000", 1000, "1KB")

	bad := func(in, want string) {
		t.Helper()
		_, err := ParseByteSize(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("ParseByteSize(%q): got error %v; want it to contain %q", in, err, want)
		}
	}
	bad("1MiBs", `cannot parse size "1MiBs": want bytes or a number with B, KB, KiB`)
	bad("MiB", `cannot parse size "MiB"`)
	bad("-1KB", `must not be negative, got "-1KB"`)
	bad("1.5", `not a whole number of bytes`)
	bad("0.0001KiB", `not a whole number of bytes`)
	bad("9999999TiB", `too large`)
	bad("1e3", `cannot parse size "1e3"`)
	bad("1/2KB", `cannot parse size`)
	bad("", `cannot parse size ""`)
}

func TestByteSizeYAML(t *testing.T) {
	var b ByteSize
	if err := b.UnmarshalYAML(node(t, "4096")); err != nil || b != 4*KiB {
		t.Fatalf("got %d, %v; want 4096", b, err)
	}
	if err := b.UnmarshalYAML(node(t, "{a: 1}")); err == nil || err.Error() != `must be a size such as "1MiB", got a map` {
		t.Fatalf("got error %v; want the map to be refused", err)
	}
}

func TestParseRate(t *testing.T) {
	f := func(in string, want Rate, wantString string, perSecond float64) {
		t.Helper()
		got, err := ParseRate(in)
		if err != nil {
			t.Fatalf("ParseRate(%q): unexpected error: %v", in, err)
		}
		if got != want {
			t.Fatalf("ParseRate(%q): got %+v; want %+v", in, got, want)
		}
		if got.String() != wantString {
			t.Fatalf("ParseRate(%q).String(): got %q; want %q", in, got.String(), wantString)
		}
		if got.PerSecond() != perSecond {
			t.Fatalf("ParseRate(%q).PerSecond(): got %v; want %v", in, got.PerSecond(), perSecond)
		}
		if back, err := ParseRate(got.String()); err != nil || back != got {
			t.Fatalf("ParseRate(%q) does not round-trip: got %+v, %v", got.String(), back, err)
		}
	}
	f("1000/s", Rate{1000, time.Second}, "1000/s", 1000)
	f("6000/min", Rate{6000, time.Minute}, "6000/min", 100)
	f("10/h", Rate{10, time.Hour}, "10/h", 10.0/3600)
	f("100", Rate{100, time.Second}, "100/s", 100)
	f("5/30s", Rate{5, 30 * time.Second}, "5/30s", 5.0/30)
	f(" 7 / second ", Rate{7, time.Second}, "7/s", 7)
	f("0", Rate{}, "unlimited", 0)
	f("unlimited", Rate{}, "unlimited", 0)

	bad := func(in, want string) {
		t.Helper()
		_, err := ParseRate(in)
		if err == nil || err.Error() != want {
			t.Fatalf("ParseRate(%q): got error %v; want %q", in, err, want)
		}
	}
	const forms = `want N/s, N/min, N/h, a bare number (per second) or "unlimited"`
	bad("10/fortnight", `cannot parse rate "10/fortnight": `+forms)
	bad("fast", `cannot parse rate "fast": `+forms)
	bad("-5/s", `cannot parse rate "-5/s": `+forms)
	bad("10/-1s", `cannot parse rate "10/-1s": `+forms)
	bad("0/s", `cannot parse rate "0/s": N must be > 0 (write 0 or "unlimited" for no limit)`)
}

func TestRateLimitYAML(t *testing.T) {
	f := func(src string, want RateLimit, wantString string) {
		t.Helper()
		var l RateLimit
		if err := l.UnmarshalYAML(node(t, src)); err != nil {
			t.Fatalf("%q: unexpected error: %v", src, err)
		}
		if l != want {
			t.Fatalf("%q: got %+v; want %+v", src, l, want)
		}
		if l.String() != wantString {
			t.Fatalf("%q: String() got %q; want %q", src, l.String(), wantString)
		}
	}
	f("100", RateLimit{Rate{100, time.Second}, 100}, "100/s")
	f(`"1000/s"`, RateLimit{Rate{1000, time.Second}, 1000}, "1000/s")
	f(`{rate: "1000/s", burst: 2000}`, RateLimit{Rate{1000, time.Second}, 2000}, "1000/s burst 2000")
	f(`{rate: 6000/min}`, RateLimit{Rate{6000, time.Minute}, 6000}, "6000/min")

	bad := func(src, want string) {
		t.Helper()
		var l RateLimit
		err := l.UnmarshalYAML(node(t, src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: got error %v; want it to contain %q", src, err, want)
		}
	}
	bad(`{rate: 10/s, brust: 3}`, `config: brust: unknown key (did you mean "burst"? known keys: rate, burst)`)
	bad(`{rate: 10/day}`, `config: rate: cannot parse rate "10/day"`)
	bad(`[1]`, `must be a rate such as "1000/s", got a list`)
}

func TestSecretRedaction(t *testing.T) {
	const value = "sk_live_do_not_print"
	s := Secret(value)
	for _, out := range []string{
		s.String(), fmt.Sprint(s), fmt.Sprintf("%v|%s|%q|%x|%#v|%+v", s, s, s, s, s, s),
	} {
		if strings.Contains(out, value) || !strings.Contains(out, "***") {
			t.Fatalf("formatting a Secret gave %q; want it redacted", out)
		}
	}
	js, _ := json.Marshal(struct{ S Secret }{s})
	if strings.Contains(string(js), value) {
		t.Fatalf("json.Marshal gave %s; want the secret redacted", js)
	}
	ys, _ := yaml.Marshal(struct{ S Secret }{s})
	if strings.Contains(string(ys), value) {
		t.Fatalf("yaml.Marshal gave %s; want the secret redacted", ys)
	}
	if s.Value() != value {
		t.Fatalf("Value(): got %q; want %q", s.Value(), value)
	}
	if Secret("").String() != "" {
		t.Fatalf("an empty secret should print as empty")
	}
	if name, ok := Secret("env:DB_URL").EnvName(); !ok || name != "DB_URL" {
		t.Fatalf("EnvName: got %q, %v; want DB_URL, true", name, ok)
	}
	var u Secret
	if err := u.UnmarshalYAML(node(t, "env:1BAD")); err == nil || !strings.Contains(err.Error(), `got "1BAD"`) {
		t.Fatalf("got error %v; want an invalid env name refused", err)
	}
}

func TestRouteParam(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		var p RouteParam
		if err := p.UnmarshalYAML(node(t, src)); err != nil {
			t.Fatalf("%q: unexpected error: %v", src, err)
		}
		if p.String() != want {
			t.Fatalf("%q: got %q; want %q", src, p.String(), want)
		}
	}
	f("path.id", "path.id")
	f("jwt.org.id", "jwt.org.id")
	f(`header.X-Tenant`, "header.X-Tenant")
	f(`{from: query.limit, default: 10, max: 1000}`, `query.limit default "10" max 1000`)
	f(`{from: query.q, default: "a b", required: false}`, `query.q default "a b"`)
	f(`{from: body.name, required: true}`, `body.name required`)
	f(`{from: query.x, default: ~}`, `query.x`)

	bad := func(src, want string) {
		t.Helper()
		var p RouteParam
		err := p.UnmarshalYAML(node(t, src))
		if err == nil || err.Error() != want {
			t.Fatalf("%q: got error %v; want %q", src, err, want)
		}
	}
	bad("cookie.sid", `config: unknown source "cookie" in "cookie.sid" (want path, query, header, jwt or body) (line 1)`)
	bad("id", `config: cannot parse param "id": want SOURCE.NAME such as "path.id" (line 1)`)
	bad("path.", `config: cannot parse param "path.": want SOURCE.NAME such as "path.id" (line 1)`)
	bad(`{from: query.a, defualt: 1}`, `config: defualt: unknown key (did you mean "default"? known keys: from, default, max, required) (line 1)`)
	bad(`{default: 1}`, `config: from: required (line 1)`)
	bad(`{from: query.a, default: [1]}`, `config: default: must be a scalar, got a list (line 1)`)
	bad(`{from: query.a, max: lots}`, `config: max: must be an integer, got "lots" (line 1)`)
	bad(`42`, `config: must be "SOURCE.NAME" or a map with from, default, max, required; got 42 (line 1)`)
}

func TestSettings(t *testing.T) {
	var s Settings
	if err := s.UnmarshalYAML(node(t, `{work_mem: 64MB, random_page_cost: 1.1, enable_seqscan: off, jit: false, geqo: true, n: 4, TimeZone: UTC}`)); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	want := Settings{"work_mem": "64MB", "random_page_cost": "1.1", "enable_seqscan": "off", "jit": "off", "geqo": "on", "n": "4", "TimeZone": "UTC"}
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Fatalf("got %v; want %v", s, want)
	}
	bad := func(src, want string) {
		t.Helper()
		var s Settings
		err := s.UnmarshalYAML(node(t, src))
		if err == nil || err.Error() != want {
			t.Fatalf("%q: got error %v; want %q", src, err, want)
		}
	}
	bad(`{work_mem: ~}`, `config: work_mem: must be a scalar value, got null (line 1)`)
	bad(`{work_mem: [1]}`, `config: work_mem: must be a scalar value, got a list (line 1)`)
	bad(`{a: 1, a: 2}`, `config: a: duplicate key (line 1)`)
	bad(`[a]`, `config: must be a map of setting names to values, got a list (line 1)`)
}
