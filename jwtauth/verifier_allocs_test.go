//go:build !race

package jwtauth

import (
	"errors"
	"testing"
	"time"
)

// A repeat verification of a cached token allocates nothing, for every
// algorithm, and so do the claim lookups a route makes; a cached token
// refused for its time allocates nothing either. (The race detector
// allocates on its own, hence the build tag.)
func TestCachedVerifyAllocatesNothing(t *testing.T) {
	hs, rs, es, ed, _ := testKeys(t)
	clk := newClock()
	v := newVerifier(t, Options{Secret: hs.priv.([]byte), PublicKeys: [][]byte{rs.pem, es.pem, ed.pem}, Now: clk.Now})
	for _, s := range []signer{hs, rs, es, ed} {
		claims := claimsAt("user-1")
		claims["tenant"] = "acme"
		tok := s.sign(t, claims, nil)
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("%s: Verify: %v", s.alg, err)
		}
		verified := v.Stats().Verified
		allocs := testing.AllocsPerRun(1000, func() {
			c, err := v.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.Claim("tenant"); !ok || len(subject(c)) == 0 {
				t.Fatal("claims lost")
			}
		})
		if allocs != 0 {
			t.Fatalf("%s: allocations per cached Verify: got %v; want 0", s.alg, allocs)
		}
		if got := v.Stats().Verified; got != verified {
			t.Fatalf("%s: full verifications during the cached runs: got %d; want 0", s.alg, got-verified)
		}
	}
	tok := hs.sign(t, claimsAt("user-2"), nil)
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := v.Verify(tok); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("got %v; want ErrTokenExpired", err)
		}
	})
	if allocs != 0 {
		t.Fatalf("allocations per cached refusal: got %v; want 0", allocs)
	}
}
