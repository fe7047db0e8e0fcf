//go:build !race

package sqlclass

import "testing"

// A cache hit costs no allocation (the race detector allocates by itself,
// hence the build tag).
func TestClassifyHitAllocatesNothing(t *testing.T) {
	for _, sql := range []string{typicalSelect, "SELECT pg_advisory_lock(1)", "SELEC 1"} {
		Classify(sql)
		if n := testing.AllocsPerRun(1000, func() { Classify(sql) }); n != 0 {
			t.Fatalf("Classify(%q) hit: %v allocations; want 0", sql, n)
		}
	}
}

func TestFingerprintHitAllocatesNothing(t *testing.T) {
	Fingerprint(typicalSelect)
	if n := testing.AllocsPerRun(1000, func() { Fingerprint(typicalSelect) }); n != 0 {
		t.Fatalf("Fingerprint hit: %v allocations; want 0", n)
	}
}
