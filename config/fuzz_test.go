package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse asserts that no input makes Parse panic or run for long, that every line of an
// error it returns is a config error (no raw newline from the input leaks into a message), and
// that an accepted config validates again, also after withDefaults runs a second time.
//
// The seeds include whole sample files, whose minimization takes a minute each with the default
// settings; run it as: go test -run XXX -fuzz FuzzParse -fuzztime 20s -fuzzminimizetime 200x ./config/
func FuzzParse(f *testing.F) {
	for _, name := range []string{"full.yaml", "full.json", "bad_unknown_key.yaml", "pgapi/server.json", "pgapi/accounts.json"} {
		data, err := os.ReadFile(filepath.Join(samples, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "{}", "[]", "~", "---\n---\n", "server:\n", "x-a: &a {cache: 1s}\nroutes: [{<<: *a, name: r, path: /r, sql: x}]\n",
		"server: &a {<<: *a}\n", "routes: [{name: a, path: '/a/{id}', sql: x, params: [path.id, {from: query.q, default: [1]}]}]",
		"databases: {main: {settings: {a: !!binary aGk=}}}", "limits: {default: 1/0s}", "server: {max_body_bytes: 1.5e3KB}",
		`{"server": {"addr": 1e400}}`, "{\"a\": [", "server: {read_timeout: 1e308}", "accounts: [{id: a, api_token: env:}]",
		"routes: [{name: a, path: /, sql: x, rate_limit: {rate: 5/s, burst: 99999999999999999999}}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a bug too; the fuzzer reports a panic with the input, not a stalled worker.
		slow := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("Parse ran over 10s on %q", data)) })
		defer slow.Stop()
		c, err := Parse(data, "")
		if err != nil {
			if c != nil {
				t.Fatalf("got a config and an error: %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "config: ") {
					t.Fatalf("error line %q lacks the config: prefix", line)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("an accepted config does not validate again: %v", err)
		}
		c.withDefaults()
		if err := c.Validate(); err != nil {
			t.Fatalf("withDefaults is not idempotent: %v", err)
		}
	})
}
