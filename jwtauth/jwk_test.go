package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// jwkOf returns the public JWK of pub, with kid and alg when non-empty.
func jwkOf(t testing.TB, pub any, kid, alg string) map[string]any {
	t.Helper()
	m := map[string]any{}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64.EncodeToString(p.N.Bytes()), b64.EncodeToString(big.NewInt(int64(p.E)).Bytes())
	case *ecdsa.PublicKey:
		pt, err := p.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		m["kty"], m["crv"], m["x"], m["y"] = "EC", p.Curve.Params().Name, b64.EncodeToString(pt[1:1+len(pt)/2]), b64.EncodeToString(pt[1+len(pt)/2:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64.EncodeToString(p)
	default:
		t.Fatalf("jwkOf: unsupported %T", pub)
	}
	if kid != "" {
		m["kid"] = kid
	}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

// jwksDoc returns a JWK Set of keys.
func jwksDoc(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	doc, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// parseJWKS keeps every usable signature key and skips, with a reason,
// entries pgfast must not or cannot use, without failing the set.
func TestParseJWKS(t *testing.T) {
	_, rs, es, ed, _ := testKeys(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	with := func(m map[string]any, kv ...any) map[string]any {
		c := map[string]any{}
		for k, v := range m {
			c[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	rsJWK := jwkOf(t, rs.pub, "rsa-1", RS256)
	doc := jwksDoc(t,
		rsJWK,
		jwkOf(t, es.pub, "ec-1", ""),
		with(jwkOf(t, ed.pub, "ed-1", EdDSA), "use", "sig", "key_ops", []string{"verify"}),
		with(rsJWK, "kid", "enc", "use", "enc"),
		with(rsJWK, "kid", "ops", "key_ops", []string{"encrypt"}),
		with(rsJWK, "kid", "ps", "alg", "PS256"),
		with(rsJWK, "kid", "bad-n", "n", "!!"),
		with(rsJWK, "kid", "no-e", "e", ""),
		map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
		map[string]any{"kty": "OKP", "crv": "X25519", "kid": "x", "x": "AA"},
		jwkOf(t, &p384.PublicKey, "p384", ""),
		with(jwkOf(t, es.pub, "", ""), "kid", "off-curve", "y", b64.EncodeToString(make([]byte, 32))),
		map[string]any{"kty": "RSA", "kid": "weak", "n": b64.EncodeToString(make([]byte, 64)), "e": "AQAB"},
		map[string]any{"kty": "EC", "kid": "short", "crv": "P-256", "x": "AA", "y": "AA"},
		map[string]any{"kty": 5},
	)
	keys, skipped, err := parseJWKS(doc)
	if err != nil {
		t.Fatalf("parseJWKS: %v", err)
	}
	var kids []string
	for _, k := range keys {
		kids = append(kids, k.kid+"/"+k.alg.String())
	}
	if got, want := strings.Join(kids, " "), "rsa-1/RS256 ec-1/ES256 ed-1/EdDSA"; got != want {
		t.Fatalf("keys: got %s; want %s", got, want)
	}
	wantSkipped := map[string]string{
		"enc": `use "enc"`, "ops": "lacks verify", "ps": `alg "PS256"`, "bad-n": `member "n" is not base64url`,
		"no-e": `member "e" missing`, "hmac": "symmetric key ignored", "x": `OKP curve "X25519"`, "p384": `EC curve "P-384"`,
		"off-curve": "invalid EC key", "weak": "RSA key of 0 bits", "short": "not 32 bytes", "": "cannot parse JWK",
	}
	if len(skipped) != len(wantSkipped) {
		t.Fatalf("skipped: got %d %v; want %d", len(skipped), skipped, len(wantSkipped))
	}
	for _, s := range skipped {
		if want := wantSkipped[s.kid]; !strings.Contains(s.err.Error(), want) {
			t.Fatalf("skipped %q: got %v; want an error containing %q", s.kid, s.err, want)
		}
	}

	for _, bad := range []string{`[]`, `{"keys":{}}`, `{}`, `not json`} {
		if _, _, err := parseJWKS([]byte(bad)); err == nil {
			t.Fatalf("parseJWKS(%s): got no error; want one", bad)
		}
	}
}
