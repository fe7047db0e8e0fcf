package bench

import (
	"strings"
	"testing"
)

func TestComposedLimit(t *testing.T) {
	f := func(h, d, want float64) {
		t.Helper()
		if got := composedLimit(h, d); !near(got, want, 1e-9) {
			t.Fatalf("composedLimit(%v, %v): got %v; want %v", h, d, got, want)
		}
	}
	f(30000, 12000, 60000.0/7)   // 1/(1/30000 + 1/12000)
	f(20000, 20000, 10000)       // two equal costs halve the rate
	f(1e12, 5000, 5000*(1-5e-9)) // a free HTTP side leaves D
	f(0, 5000, 0)
	f(20000, 0, 0)
}

func TestPgbenchScript(t *testing.T) {
	f := func(sql string, want string) {
		t.Helper()
		got, err := pgbenchScript(sql, 3000)
		if err != nil || string(got) != want {
			t.Fatalf("pgbenchScript(%q): got %q, %v; want %q", sql, got, err, want)
		}
	}
	f("SELECT a FROM customer WHERE customer_id = $1", "\\set id random(1, 3000)\nSELECT a FROM customer WHERE customer_id = :id;\n")
	f(" SELECT a FROM t WHERE id = $1;\n", "\\set id random(1, 3000)\nSELECT a FROM t WHERE id = :id;\n")
	for _, bad := range []string{"SELECT 1", "SELECT $1, $2"} {
		if _, err := pgbenchScript(bad, 10); err == nil || !strings.Contains(err.Error(), "exactly one parameter") {
			t.Fatalf("pgbenchScript(%q): got %v; want an error", bad, err)
		}
	}
}

func TestParsePgbench(t *testing.T) {
	f := func(out string, want float64, wantErr string) {
		t.Helper()
		got, err := parsePgbench([]byte(out))
		if (err == nil) != (wantErr == "") || (err != nil && !strings.Contains(err.Error(), wantErr)) || !near(got, want, 1e-9) {
			t.Fatalf("parsePgbench(%q): got %v, %v; want %v, error %q", out, got, err, want, wantErr)
		}
	}
	// PostgreSQL 15's pgbench.
	f(`pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: /tmp/pgfast-bench-1.sql
scaling factor: 1
query mode: prepared
number of clients: 20
number of threads: 2
maximum number of tries: 1
duration: 3 s
number of transactions actually processed: 189363
number of failed transactions: 0 (0.000%)
latency average = 0.316 ms
initial connection time = 12.120 ms
tps = 63121.413225 (without initial connection time)
`, 63121.413225, "")
	// PostgreSQL 13's.
	f("tps = 4999.500000 (including connections establishing)\ntps = 5000.250000 (excluding connections establishing)\n", 5000.25, "")
	f("number of failed transactions: 12 (0.100%)\ntps = 5000.0 (without initial connection time)\n", 0, "12 statements failed")
	f("pgbench: error: connection to server failed\n", 0, "cannot find the tps")
}
