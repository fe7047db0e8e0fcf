package jwtauth

import (
	"encoding/json"
	"testing"
)

func TestCountMembers(t *testing.T) {
	f := func(obj string, want int) {
		t.Helper()
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(obj), &m); err != nil {
			t.Fatalf("test case %s is not a JSON object: %v", obj, err)
		}
		if got := countMembers([]byte(obj)); got != want {
			t.Fatalf("countMembers(%s): got %d; want %d", obj, got, want)
		}
	}
	f(`{}`, 0)
	f(` { } `, 0)
	f(`{"a":1}`, 1)
	f(`{"a":1,"b":2}`, 2)
	f(`{"a":1,"a":2}`, 2)
	f(` {"a" : {"x":1,"y":[{"z":2}]} , "b":[1,{"c":3}] } `, 2)
	f(`{"a:b":"c:d","e\":f":"g\\"}`, 2)
	f(`{"a":"\\\"","b":"}"}`, 2)
	f(`{"a":"{[","b":"]}"}`, 2)
	f(`{"\u0061":1,"a":2}`, 2)
}

func TestDuplicateMember(t *testing.T) {
	f := func(obj, want string) {
		t.Helper()
		if got := duplicateMember([]byte(obj)); got != want {
			t.Fatalf("duplicateMember(%s): got %q; want %q", obj, got, want)
		}
	}
	f(`{"a":1,"b":{"a":2}}`, "")
	f(`{"a":1,"b":2,"a":3}`, "a")
	f(`{"sub":"a","\u0073ub":"b"}`, "sub")
	f(`{"x":[1,2],"y":{"z":1},"y":null}`, "y")
}

// A header or claims set that names a member twice is malformed, however
// the second name is spelled, and whatever the values; the same names in
// nested objects are claim values, not claim names, and pass.
func TestVerifyRefusesDuplicateMembers(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	secret := hs.priv.([]byte)
	v := newVerifier(t, Options{Secret: secret, Now: newClock().Now})
	exp := itoa(int(t0.Unix()) + 60)
	f := func(header, payload, want string) {
		t.Helper()
		c, err := v.Verify(handMade(header, payload, secret))
		if want == "" {
			if err != nil {
				t.Fatalf("header %s, claims %s: got %v; want accepted", header, payload, err)
			}
			if c == nil {
				t.Fatalf("header %s, claims %s: got nil claims", header, payload)
			}
			return
		}
		if err == nil {
			t.Fatalf("header %s, claims %s: got accepted (sub %q); want %q", header, payload, subject(c), want)
		}
		if got := reasonOf(t, err); got != want {
			t.Fatalf("header %s, claims %s: got %q; want %q", header, payload, got, want)
		}
	}
	f(`{"alg":"HS256"}`, `{"sub":"a","sub":"b","exp":`+exp+`}`, `malformed token: claim "sub" occurs more than once`)
	f(`{"alg":"HS256"}`, `{"sub":"a","\u0073ub":"b","exp":`+exp+`}`, `malformed token: claim "sub" occurs more than once`)
	f(`{"alg":"HS256"}`, `{"sub":"a","exp":1,"exp":`+exp+`}`, `malformed token: claim "exp" occurs more than once`)
	f(`{"alg":"HS256"}`, `{"sub":"a","sub":"a","exp":`+exp+`}`, `malformed token: claim "sub" occurs more than once`)
	f(`{"alg":"HS256","alg":"HS256"}`, `{"sub":"a","exp":`+exp+`}`, `malformed token: header member "alg" occurs more than once`)
	f(`{"alg":"RS256","alg":"HS256"}`, `{"sub":"a","exp":`+exp+`}`, `malformed token: header member "alg" occurs more than once`)
	f(`{"alg":"HS256","kid":"a","kid":"b"}`, `{"sub":"a","exp":`+exp+`}`, `malformed token: header member "kid" occurs more than once`)
	f(`{"alg":"HS256"}`, `{"sub":"a","o":{"sub":"b","x":{"sub":"c"}},"l":[{"sub":1},{"sub":2}],"exp":`+exp+`}`, "")
	f(`{"alg":"HS256","x":{"alg":"none"}}`, `{"sub":"a","exp":`+exp+`}`, "")
	if st := v.Stats(); st.CacheEntries != 2 {
		t.Fatalf("cached tokens: got %d; want 2 (refused tokens are never cached)", st.CacheEntries)
	}
}
