package jwtauth

import (
	"testing"
)

// Options.Require refuses a token lacking (or nulling) a named registered
// claim, with a reason naming it; without Require such tokens pass.
func TestRequire(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	secret := hs.priv.([]byte)
	exp := itoa(int(t0.Unix()) + 60)
	f := func(require []string, payload, want string) {
		t.Helper()
		v := newVerifier(t, Options{Secret: secret, Require: require, Now: newClock().Now})
		c, err := v.Verify(handMade(`{"alg":"HS256"}`, payload, secret))
		if want == "" {
			if err != nil {
				t.Fatalf("Require %q, claims %s: got %v; want accepted", require, payload, err)
			}
			if c == nil {
				t.Fatalf("Require %q, claims %s: got nil claims", require, payload)
			}
			return
		}
		if err == nil {
			t.Fatalf("Require %q, claims %s: got accepted; want %q", require, payload, want)
		}
		if got := reasonOf(t, err); got != want {
			t.Fatalf("Require %q, claims %s: got reason %q; want %q", require, payload, got, want)
		}
	}
	f(nil, `{"sub":"u"}`, "")
	f([]string{}, `{"sub":"u"}`, "")
	f([]string{"exp"}, `{"sub":"u"}`, "missing required claim exp")
	f([]string{"exp"}, `{"sub":"u","exp":null}`, "missing required claim exp")
	f([]string{"exp"}, `{"sub":"u","exp":`+exp+`}`, "")
	f([]string{"exp", "sub"}, `{"exp":`+exp+`}`, "missing required claim sub")
	f([]string{"exp", "exp"}, `{"exp":`+exp+`}`, "")
	f([]string{"nbf"}, `{"exp":`+exp+`}`, "missing required claim nbf")
	f([]string{"iat"}, `{"exp":`+exp+`}`, "missing required claim iat")
	f([]string{"iss"}, `{"exp":`+exp+`}`, "missing required claim iss")
	f([]string{"aud"}, `{"exp":`+exp+`}`, "missing required claim aud")
	f([]string{"exp", "nbf", "iat", "iss", "aud", "sub"},
		`{"exp":`+exp+`,"nbf":1,"iat":1,"iss":"i","aud":["a"],"sub":"s"}`, "")
	// Case matters, as for every claim name.
	f([]string{"exp"}, `{"EXP":`+exp+`}`, "missing required claim exp")
}

func TestRequireValidate(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	f := func(name string) {
		t.Helper()
		err := Options{Secret: hs.priv.([]byte), Require: []string{"exp", name}}.Validate()
		if err == nil {
			t.Fatalf("Require [exp %q]: got nil; want an error", name)
		}
		if got, want := err.Error(), `jwtauth: invalid options: Require: "`+name+`" is not one of exp, nbf, iat, iss, aud, sub`; got != want {
			t.Fatalf("Require [exp %q]: got %q; want %q", name, got, want)
		}
	}
	f("jti")
	f("EXP")
	f("")
	f("tenant")
}

// The refusals for missing claims are built once and shared, as the other
// fixed refusals are.
func TestRequireErrorsAreShared(t *testing.T) {
	r1, ok1 := requirementOf("exp")
	r2, ok2 := requirementOf("exp")
	if !ok1 || !ok2 || r1.err != r2.err {
		t.Fatalf("requirementOf(exp) twice: got %p and %p; want one shared error", r1.err, r2.err)
	}
}
