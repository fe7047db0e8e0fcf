package jwtauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary bytes to Verify, with every key type
// configured: it must never panic, every failure must be an *Error, and
// anything accepted must carry claims that are a valid JSON object and
// answer Claim lookups consistently with that JSON.
func FuzzVerify(f *testing.F) {
	hs, rs, es, ed, _ := testKeys(f)
	secret := hs.priv.([]byte)
	c := jwt.MapClaims{"sub": "u\u00e9", "exp": t0.Add(time.Hour).Unix(), "aud": []string{"a", "pgfast"},
		"iss": "idp", "n": 1.5, "obj": map[string]any{"k": []int{1}}}
	for _, s := range []signer{hs, rs, es, ed} {
		f.Add(s.sign(f, c, nil))
		f.Add(s.sign(f, c, s.withKid()))
	}
	f.Add(handMade(`{"alg":"none"}`, `{"sub":"x"}`, nil))
	f.Add(handMade(`{"alg":"HS256"}`, `{"sub":"x","aud":"pgfast","iss":"idp","exp":1e300}`, secret))
	f.Add(handMade(`{"alg":"HS256","kid":"`+rs.kid+`"}`, `{}`, rs.pem))
	f.Add(handMade(`{"alg":"HS256","crit":[]}`, `{}`, secret))
	f.Add(handMade(`{"alg":"HS256"}`, `{"sub":"\ud800","aud":["pgfast",null],"iss":"idp","exp":"x"}`, secret))
	f.Add(handMade(`{"alg":"HS256"}`, "{\"sub\":\"\xff\",\"aud\":\"pgfast\",\"iss\":\"idp\"}", secret))
	f.Add([]byte("a.b.c"))
	f.Add([]byte(".."))
	f.Add([]byte(""))
	f.Add([]byte("a.b.c.d.e"))
	v := newVerifier(f, Options{Secret: secret, PublicKeys: [][]byte{rs.pem, es.pem, ed.pem}, Issuer: "idp", Audience: "pgfast",
		CacheSize: 64, Now: func() time.Time { return t0 }})
	f.Fuzz(func(t *testing.T, tok []byte) {
		checkVerify(t, v, tok)
	})
}

// FuzzVerifySigned fuzzes the JSON inside a correctly signed HS256 token
// (which mutations of whole tokens almost never reach): header and claims
// parsing must never panic and must obey the same invariants.
func FuzzVerifySigned(f *testing.F) {
	hs, _, _, _, _ := testKeys(f)
	secret := hs.priv.([]byte)
	f.Add([]byte(`{"alg":"HS256","typ":"JWT"}`), []byte(`{"sub":"u","aud":["x","pgfast"],"iss":"idp","exp":1700003600,"nbf":1.7e9}`))
	f.Add([]byte(`{"alg":"HS256","kid":"k"}`), []byte(`{"sub":"\u00e9\n","aud":"pgfast","iss":"idp","o":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"alg":"HS256","alg":"none"}`), []byte(`{"sub":1}`))
	f.Add([]byte(`{"alg":"HS256"}`), []byte("{\"sub\":\"\xff\",\"aud\":\"pgfast\",\"iss\":\"idp\",\"exp\":-1e999}"))
	f.Add([]byte(`{"alg":"hs256"}`), []byte(`{}`))
	v := newVerifier(f, Options{Secret: secret, Issuer: "idp", Audience: "pgfast", CacheSize: 64, Now: func() time.Time { return t0 }})
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		tok := handMade(string(header), string(payload), secret)
		if repeatsName(header) {
			if _, err := v.Verify(tok); err == nil {
				t.Fatalf("Verify: header %q names a member twice; want it refused", header)
			}
		}
		checkVerify(t, v, tok)
	})
}

// repeatsName reports whether obj is a JSON object naming a member twice
// (after decoding the names' escapes). It walks the tokens with
// encoding/json's Decoder, apart from the verifier's own count.
func repeatsName(obj []byte) bool {
	if !json.Valid(obj) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		name := t.(string)
		if seen[name] {
			return true
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}

// payloadOf decodes the claims segment of a token Verify accepted.
func payloadOf(t *testing.T, tok []byte) []byte {
	t.Helper()
	parts := bytes.Split(tok, []byte("."))
	if len(parts) != 3 {
		t.Fatalf("Verify(%q): accepted a token of %d segments", tok, len(parts))
	}
	payload, err := b64.AppendDecode(nil, parts[1])
	if err != nil {
		t.Fatalf("Verify(%q): accepted a payload that is not base64url: %v", tok, err)
	}
	return payload
}

// checkVerify verifies tok and checks the invariants every answer obeys.
func checkVerify(t *testing.T, v *Verifier, tok []byte) {
	claims, err := v.Verify(tok)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Reason == "" {
			t.Fatalf("Verify(%q): error %v (%T) is not a *jwtauth.Error with a reason", tok, err, err)
		}
		return
	}
	payload := payloadOf(t, tok)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil || m == nil {
		t.Fatalf("Verify(%q): accepted claims %q are not a JSON object: %v", tok, payload, err)
	}
	if repeatsName(payload) {
		t.Fatalf("Verify(%q): accepted claims %q that name a claim twice", tok, payload)
	}
	for name, raw := range m {
		text, ok := claims.Claim(name)
		want, wantOK, err := claimText(raw)
		if err != nil || ok != wantOK || string(text) != string(want) {
			t.Fatalf("Claim(%q): got %q, %v; want %q, %v (%v)", name, text, ok, want, wantOK, err)
		}
	}
	again, err := v.Verify(tok)
	if err != nil || !again.Expires.Equal(claims.Expires) {
		t.Fatalf("Verify(%q) again: got %v; want the same claims", tok, err)
	}
}
