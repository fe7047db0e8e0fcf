package jwtauth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Each algorithm verifies tokens signed by golang-jwt, with the key named
// by its thumbprint kid and with no kid at all.
func TestVerifyEachAlgorithm(t *testing.T) {
	hs, rs, es, ed, _ := testKeys(t)
	clk := newClock()
	f := func(s signer, opts Options, hdr map[string]any) {
		t.Helper()
		opts.Now = clk.Now
		v := newVerifier(t, opts)
		tok := s.sign(t, claimsAt("user-"+s.alg), hdr)
		c, err := v.Verify(tok)
		if err != nil {
			t.Fatalf("%s %v: Verify: got %v; want success", s.alg, hdr, err)
		}
		if got, want := string(subject(c)), "user-"+s.alg; got != want {
			t.Fatalf("%s: sub: got %q; want %q", s.alg, got, want)
		}
		if got, want := c.Expires, t0.Add(time.Hour); !got.Equal(want) {
			t.Fatalf("%s: Expires: got %v; want %v", s.alg, got, want)
		}
		if st := v.Stats(); st.Verified != 1 || st.Refused != 0 || st.CacheEntries != 1 {
			t.Fatalf("%s: stats %+v; want 1 verified, 0 refused, 1 cached", s.alg, st)
		}
	}
	f(hs, Options{Secret: hs.priv.([]byte)}, nil)
	f(hs, Options{Secret: hs.priv.([]byte)}, map[string]any{"kid": "any-label-the-issuer-likes"})
	for _, s := range []signer{rs, es, ed} {
		f(s, Options{PublicKeys: [][]byte{s.pem}}, nil)
		f(s, Options{PublicKeys: [][]byte{s.pem}}, s.withKid())
		// All key types at once: the kid (or the alg, without one) picks.
		all := Options{Secret: hs.priv.([]byte), PublicKeys: [][]byte{rs.pem, es.pem, ed.pem}}
		f(s, all, s.withKid())
		f(s, all, nil)
	}
}

// RFC 7515 Appendix A.1: the HS256 example, verified byte for byte.
func TestVerifyRFC7515Example(t *testing.T) {
	secret, err := b64.DecodeString("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
	if err != nil {
		t.Fatal(err)
	}
	tok := "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	v := newVerifier(t, Options{Secret: secret, Issuer: "joe", Now: func() time.Time { return time.Unix(1300819000, 0) }})
	c, err := v.Verify([]byte(tok))
	if err != nil {
		t.Fatalf("Verify: got %v; want success", err)
	}
	if got, ok := c.Claim("http://example.com/is_root"); !ok || string(got) != "true" {
		t.Fatalf("Claim(is_root): got %q, %v; want \"true\", true", got, ok)
	}
	if got := c.Expires.Unix(); got != 1300819380 {
		t.Fatalf("Expires: got %d; want 1300819380", got)
	}
}

// Every way a token can be refused is an *Error with its own reason.
func TestVerifyRefusals(t *testing.T) {
	hs, rs, es, ed, rs2 := testKeys(t)
	secret := hs.priv.([]byte)
	clk := newClock()
	f := func(name string, opts Options, tok []byte, want string) {
		t.Helper()
		opts.Now = clk.Now
		v := newVerifier(t, opts)
		c, err := v.Verify(tok)
		if err == nil {
			t.Fatalf("%s: Verify: got claims %q; want refusal %q", name, c.values, want)
		}
		if got := reasonOf(t, err); got != want {
			t.Fatalf("%s: reason: got %q; want %q", name, got, want)
		}
		if st := v.Stats(); st.Refused != 1 || st.Verified != 0 || st.CacheEntries != 0 {
			t.Fatalf("%s: stats %+v; want 1 refused, nothing verified or cached", name, st)
		}
	}
	onlyHS := Options{Secret: secret}
	onlyRS := Options{PublicKeys: [][]byte{rs.pem}}
	both := Options{Secret: secret, PublicKeys: [][]byte{rs.pem}}
	claims := func(kv ...any) jwt.MapClaims {
		c := claimsAt("u1")
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}

	// time
	f("expired", onlyHS, hs.sign(t, claims("exp", t0.Add(-31*time.Second).Unix()), nil), "token expired")
	f("not yet valid", onlyHS, hs.sign(t, claims("nbf", t0.Add(31*time.Second).Unix()), nil), "token not yet valid")
	// issuer and audience
	iss := Options{Secret: secret, Issuer: "https://id.example"}
	f("wrong issuer", iss, hs.sign(t, claims("iss", "https://evil.example"), nil), "wrong issuer")
	f("missing issuer", iss, hs.sign(t, claims(), nil), "wrong issuer")
	aud := Options{Secret: secret, Audience: "pgfast"}
	f("wrong audience", aud, hs.sign(t, claims("aud", "other"), nil), "wrong audience")
	f("wrong audience list", aud, hs.sign(t, claims("aud", []string{"a", "b"}), nil), "wrong audience")
	f("missing audience", aud, hs.sign(t, claims(), nil), "wrong audience")
	// signatures
	good := string(hs.sign(t, claims(), nil))
	dot := strings.LastIndexByte(good, '.')
	forged := good[:strings.IndexByte(good, '.')] + "." + b64.EncodeToString([]byte(`{"sub":"admin"}`)) + good[dot:]
	f("forged payload", onlyHS, []byte(forged), "bad signature")
	f("short hmac", onlyHS, []byte(good[:len(good)-4]), "bad signature")
	f("other secret", onlyHS, handMade(`{"alg":"HS256"}`, `{"sub":"u1"}`, []byte(strings.Repeat("k", 32))), "bad signature")
	f("other rsa key", onlyRS, rs2.sign(t, claims(), nil), "bad signature")
	f("other rsa key, its kid claimed", onlyRS, rs2.sign(t, claims(), rs.withKid()), "bad signature")
	esTok := string(es.sign(t, claims(), nil))
	f("es256 flipped bit", Options{PublicKeys: [][]byte{es.pem}}, []byte(esTok[:len(esTok)-2]+flip(esTok[len(esTok)-2])+esTok[len(esTok)-1:]), "bad signature")
	edTok := string(ed.sign(t, claims(), nil))
	f("eddsa truncated", Options{PublicKeys: [][]byte{ed.pem}}, []byte(edTok[:len(edTok)-3]), "bad signature")
	// algorithms
	f("alg none", both, handMade(`{"alg":"none"}`, `{"sub":"admin"}`, nil), "algorithm none is not allowed")
	f("alg NoNe", both, handMade(`{"alg":"NoNe"}`, `{"sub":"admin"}`, nil), "algorithm none is not allowed")
	// HS/RS confusion: the attacker HMACs with the public key's PEM.
	f("hs/rs confusion, rsa only", onlyRS, handMade(`{"alg":"HS256"}`, `{"sub":"admin"}`, rs.pem), "algorithm HS256 not allowed for this key")
	f("hs/rs confusion, kid of the rsa key", both, handMade(`{"alg":"HS256","kid":"`+rs.kid+`"}`, `{"sub":"admin"}`, rs.pem), "algorithm HS256 not allowed for this key")
	f("hs/rs confusion, no kid", both, handMade(`{"alg":"HS256"}`, `{"sub":"admin"}`, rs.pem), "bad signature")
	f("rs256 on an ec kid", Options{PublicKeys: [][]byte{rs.pem, es.pem}}, rs.sign(t, claims(), es.withKid()), "algorithm RS256 not allowed for this key")
	f("es256 without ec key", onlyRS, es.sign(t, claims(), nil), "algorithm ES256 not allowed for this key")
	f("narrowed algorithms", Options{PublicKeys: [][]byte{rs.pem, es.pem}, Algorithms: []string{RS256}}, es.sign(t, claims(), nil), "algorithm ES256 not allowed")
	f("unsupported alg", both, handMade(`{"alg":"RS384"}`, `{}`, secret), `algorithm "RS384" not allowed`)
	// keys
	f("unknown kid", onlyRS, rs.sign(t, claims(), map[string]any{"kid": "2024-rotated"}), `unknown key id "2024-rotated"`)
	f("long unknown kid", onlyRS, rs.sign(t, claims(), map[string]any{"kid": strings.Repeat("x", 100)}), `unknown key id "`+strings.Repeat("x", 64)+`…"`)
	// malformed
	m := func(name, tok, why string) {
		t.Helper()
		f(name, both, []byte(tok), "malformed token: "+why)
	}
	m("empty", "", "empty token")
	m("one part", "abc", "want 3 dot-separated parts, got 1")
	m("two parts", "abc.def", "want 3 dot-separated parts, got 2")
	m("four parts", "a.b.c.d", "want 3 dot-separated parts, got 4")
	m("jwe", "a.b.c.d.e", "encrypted tokens (JWE) are not supported")
	m("bearer prefix", "Bearer "+good, "invalid character ' ' at offset 6; want base64url")
	m("newline", good[:10]+"\n"+good[10:], `invalid character '\n' at offset 10; want base64url`)
	m("padding", good+"=", "invalid character '=' at offset "+itoa(len(good))+"; want base64url")
	m("standard base64", "a+b.c.d", "invalid character '+' at offset 1; want base64url")
	m("empty header", "."+good[strings.IndexByte(good, '.')+1:], "empty header or payload")
	m("header not base64", "A"+good[strings.IndexByte(good, '.'):], "header is not base64url")
	m("header not json", b64.EncodeToString([]byte("alg"))+good[strings.IndexByte(good, '.'):], "header is not a JSON object")
	m("header array", b64.EncodeToString([]byte(`["HS256"]`))+good[strings.IndexByte(good, '.'):], "header is not a JSON object")
	m("header null", b64.EncodeToString([]byte(`null`))+good[strings.IndexByte(good, '.'):], "header is not a JSON object")
	m("no alg", string(handMade(`{"typ":"JWT"}`, `{}`, secret)), "header has no alg")
	m("upper-case ALG", string(handMade(`{"ALG":"HS256"}`, `{}`, secret)), "header has no alg")
	m("alg number", string(handMade(`{"alg":256}`, `{}`, secret)), "alg is not a string")
	m("alg null", string(handMade(`{"alg":null}`, `{}`, secret)), "alg is not a string")
	m("kid number", string(handMade(`{"alg":"RS256","kid":7}`, `{}`, secret)), "kid is not a string")
	m("crit", string(handMade(`{"alg":"HS256","crit":["b64"],"b64":false}`, `{}`, secret)), "critical header extensions are not supported")
	m("signature not base64", good[:dot+1]+"A", "signature is not base64url")
	m("claims not json", string(handMade(`{"alg":"HS256"}`, `{"sub":`, secret)), "claims are not a JSON object")
	m("claims array", string(handMade(`{"alg":"HS256"}`, `[1]`, secret)), "claims are not a JSON object")
	m("claims null", string(handMade(`{"alg":"HS256"}`, `null`, secret)), "claims are not a JSON object")
	m("exp string", string(handMade(`{"alg":"HS256"}`, `{"exp":"tomorrow"}`, secret)), "exp is not a number")
	m("nbf bool", string(handMade(`{"alg":"HS256"}`, `{"nbf":true}`, secret)), "nbf is not a number")
	m("iat object", string(handMade(`{"alg":"HS256"}`, `{"iat":{}}`, secret)), "iat is not a number")
	m("sub number", string(handMade(`{"alg":"HS256"}`, `{"sub":1}`, secret)), "sub is not a string")
	m("iss number", string(handMade(`{"alg":"HS256"}`, `{"iss":1}`, secret)), "iss is not a string")
	m("aud number", string(handMade(`{"alg":"HS256"}`, `{"aud":1}`, secret)), "aud is not a string or an array of strings")
	m("aud mixed", string(handMade(`{"alg":"HS256"}`, `{"aud":["a",1]}`, secret)), "aud is not a string or an array of strings")
	m("too long", strings.Repeat("a", MaxTokenBytes+1), "token longer than 16384 bytes")
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// A refusal's sentinel can be matched with errors.Is, and a malformed
// token's cause is reachable with errors.Unwrap.
func TestErrorMatching(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	clk := newClock()
	v := newVerifier(t, Options{Secret: hs.priv.([]byte), Now: clk.Now})
	_, err := v.Verify(hs.sign(t, jwt.MapClaims{"exp": t0.Add(-time.Hour).Unix()}, nil))
	if !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("errors.Is(%v, ErrTokenExpired): got false; want true", err)
	}
	_, err = v.Verify([]byte("A.e30.e30"))
	if errors.Unwrap(err) == nil {
		t.Fatalf("malformed header %v: got no cause; want the base64 error", err)
	}
}

// exp and nbf are compared with the leeway, 0 meaning none (it has no
// default here: pgfast's 30s comes from the configuration). Valid means
// nbf-leeway <= now < exp+leeway.
func TestLeeway(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	f := func(leeway time.Duration, claims jwt.MapClaims, want string) {
		t.Helper()
		clk := newClock()
		v := newVerifier(t, Options{Secret: hs.priv.([]byte), Leeway: leeway, Now: clk.Now})
		_, err := v.Verify(hs.sign(t, claims, nil))
		got := ""
		if err != nil {
			got = reasonOf(t, err)
		}
		if got != want {
			t.Fatalf("leeway %s, claims %v: got %q; want %q", leeway, claims, got, want)
		}
	}
	at := func(d time.Duration) float64 { return float64(t0.Add(d).UnixMilli()) / 1000 }
	const s30 = 30 * time.Second
	f(s30, jwt.MapClaims{"exp": at(-29 * time.Second)}, "")
	f(s30, jwt.MapClaims{"exp": at(-30 * time.Second)}, "token expired")
	f(s30, jwt.MapClaims{"exp": at(-29500 * time.Millisecond)}, "") // fractional NumericDate
	f(s30, jwt.MapClaims{"nbf": at(30 * time.Second)}, "")
	f(s30, jwt.MapClaims{"nbf": at(30*time.Second + time.Millisecond)}, "token not yet valid")
	f(5*time.Minute, jwt.MapClaims{"exp": at(-4 * time.Minute)}, "")
	f(5*time.Minute, jwt.MapClaims{"nbf": at(4 * time.Minute)}, "")
	f(0, jwt.MapClaims{"exp": at(time.Millisecond)}, "")
	f(0, jwt.MapClaims{"exp": at(0)}, "token expired")
	f(0, jwt.MapClaims{"exp": at(-29 * time.Second)}, "token expired") // no default leeway
	f(0, jwt.MapClaims{"nbf": at(0)}, "")
	f(0, jwt.MapClaims{"nbf": at(time.Millisecond)}, "token not yet valid")
	f(0, jwt.MapClaims{"exp": 1e300}, "") // far future: never
	f(0, jwt.MapClaims{"exp": -1e300}, "token expired")
	f(0, jwt.MapClaims{}, "") // no exp: valid (RFC 7519 makes it optional)
}

// A cached token is checked against the clock on every hit: it expires in
// the cache, it is refused from the cache, and that costs no signature.
func TestCachedTokenExpires(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	clk := newClock()
	v := newVerifier(t, Options{Secret: hs.priv.([]byte), Now: clk.Now})
	tok := hs.sign(t, jwt.MapClaims{"sub": "u", "exp": t0.Add(time.Minute).Unix(), "nbf": t0.Unix()}, nil)
	first, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	again, err := v.Verify(append([]byte(nil), tok...))
	if err != nil || again != first {
		t.Fatalf("second Verify: got %p, %v; want the cached claims %p", again, err, first)
	}
	clk.Add(90 * time.Second) // past exp
	if _, err := v.Verify(tok); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("after exp: got %v; want ErrTokenExpired", err)
	}
	clk.Add(-time.Hour) // a clock stepped back: before nbf
	if _, err := v.Verify(tok); !errors.Is(err, ErrTokenNotYetValid) {
		t.Fatalf("before nbf: got %v; want ErrTokenNotYetValid", err)
	}
	if st := v.Stats(); st.Verified != 1 || st.CacheHits != 3 || st.Refused != 2 {
		t.Fatalf("stats %+v; want 1 verified, 3 cache hits, 2 refused", st)
	}
}

// With the cache disabled every call checks the signature.
func TestCacheDisabled(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	clk := newClock()
	v := newVerifier(t, Options{Secret: hs.priv.([]byte), CacheSize: -1, Now: clk.Now})
	tok := hs.sign(t, claimsAt("u"), nil)
	for range 3 {
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	if st := v.Stats(); st.Verified != 3 || st.CacheHits != 0 || st.CacheEntries != 0 {
		t.Fatalf("stats %+v; want 3 verified and no cache", st)
	}
}

// aud may be a string or an array; Audience must be one of them.
func TestAudience(t *testing.T) {
	hs, _, _, _, _ := testKeys(t)
	clk := newClock()
	v := newVerifier(t, Options{Secret: hs.priv.([]byte), Audience: "pgfast", Issuer: "idp", Now: clk.Now})
	for _, aud := range []any{"pgfast", []string{"pgfast"}, []string{"billing", "pgfast"}} {
		if _, err := v.Verify(hs.sign(t, jwt.MapClaims{"aud": aud, "iss": "idp"}, nil)); err != nil {
			t.Fatalf("aud %v: got %v; want success", aud, err)
		}
	}
}
