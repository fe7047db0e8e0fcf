package jwtauth

import (
	"encoding/json"
	"testing"
	"time"
)

// Claim returns each claim as text: strings unquoted and unescaped,
// numbers and booleans as their JSON text, objects and arrays compacted;
// null and absent claims report false.
func TestClaimLookups(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	payload := `{"sub":"user\"42\u00e9","tenant":"acme","n":42,"f":-1.5e3,"ok":true,"no":false,
		"nil":null,"obj":{ "a" : [1, 2] },"arr":[ "x" , "y" ],"exp":` + itoa(int(t0.Unix())+60) + `}`
	clk := newClock()
	v := newVerifier(t, Options{Secret: hs.priv.([]byte), Now: clk.Now})
	c, err := v.Verify(handMade(`{"alg":"HS256","typ":"JWT"}`, payload, hs.priv.([]byte)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	f := func(name, want string, wantOK bool) {
		t.Helper()
		got, ok := c.Claim(name)
		if string(got) != want || ok != wantOK {
			t.Fatalf("Claim(%q): got %q, %v; want %q, %v", name, got, ok, want, wantOK)
		}
	}
	f("sub", "user\"42é", true)
	f("tenant", "acme", true)
	f("n", "42", true)
	f("f", "-1.5e3", true)
	f("ok", "true", true)
	f("no", "false", true)
	f("obj", `{"a":[1,2]}`, true)
	f("arr", `["x","y"]`, true)
	f("exp", itoa(int(t0.Unix())+60), true)
	f("nil", "", false)
	f("missing", "", false)
	f("Sub", "", false) // names are case-sensitive
	if !c.Expires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Expires: got %v; want %v", c.Expires, t0.Add(time.Minute))
	}
}

// A token without sub has no sub claim and no Expires.
func TestClaimsWithoutSubject(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	v := newVerifier(t, Options{Secret: hs.priv.([]byte)})
	c, err := v.Verify(handMade(`{"alg":"HS256"}`, `{"scope":"read"}`, hs.priv.([]byte)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if sub, ok := c.Claim("sub"); ok || !c.Expires.IsZero() {
		t.Fatalf("sub, Expires: got %q, %v, %v; want none, zero", sub, ok, c.Expires)
	}
}

// NumericDate accepts integers and fractions and clamps absurd magnitudes.
func TestNumericDate(t *testing.T) {
	f := func(in string, want time.Time, wantOK bool, wantErr bool) {
		t.Helper()
		got, ok, err := numericDate(json.RawMessage(in), "exp")
		if (err != nil) != wantErr || ok != wantOK || !got.Equal(want) {
			t.Fatalf("numericDate(%s): got %v, %v, %v; want %v, %v, error %v", in, got, ok, err, want, wantOK, wantErr)
		}
	}
	f(`1700000000`, t0, true, false)
	f(`1700000000.25`, t0.Add(250*time.Millisecond), true, false)
	f(`-1.5`, time.Unix(-2, 5e8), true, false)
	f(`1e400`, time.Unix(maxNumericDate, 0), true, false)
	f(`-1e400`, time.Unix(-maxNumericDate, 0), true, false)
	f(`null`, time.Time{}, false, false)
	f(``, time.Time{}, false, false)
	f(`"1700000000"`, time.Time{}, false, true)
	f(`true`, time.Time{}, false, true)
}
