package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

const jwtSecret = "0123456789abcdef0123456789abcdef-test-only"

func signHS(t testing.TB, claims jwt.MapClaims, secret string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWTRoutes(t *testing.T) {
	ts := startServer(t, parseConfig(t, `
auth:
  jwt: {secret: "`+jwtSecret+`", issuer: pgfast-test, audience: api, leeway: 0s}
limits: {key: jwt.sub}
routes:
  - name: me
    path: /me
    sql: SELECT $1::text AS sub, $2::text AS tenant
    params: [jwt.sub, {from: jwt.tenant, default: none}]
    auth: jwt
    cache: 60s
    rate_limit: {rate: 3/min, burst: 3}
`), pgtest.NewDatabase(t))
	now := time.Now()
	claims := func(sub string, mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": sub, "tenant": "t-" + sub, "iss": "pgfast-test", "aud": "api", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	alice := signHS(t, claims("alice", nil), jwtSecret)
	get(t, ts.url+"/me", bearer(alice)...).expect(t, 200, `{"sub":"alice","tenant":"t-alice"}`)
	// Another subject is another cache key and another rate-limit key.
	get(t, ts.url+"/me", bearer(signHS(t, claims("bob", nil), jwtSecret))...).expect(t, 200, `{"sub":"bob","tenant":"t-bob"}`)
	get(t, ts.url+"/me", bearer(alice)...).expect(t, 200, `"sub":"alice"`)
	get(t, ts.url+"/me", bearer(alice)...).expect(t, 200)
	get(t, ts.url+"/me", bearer(alice)...).expect(t, 429, `"code":"rate_limited"`)
	get(t, ts.url+"/me", bearer(signHS(t, claims("bob", nil), jwtSecret))...).expect(t, 200, `"sub":"bob"`)

	for _, c := range []struct {
		name, token, want string
	}{
		{"missing", "", "missing Authorization"},
		{"expired", signHS(t, claims("carol", func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), jwtSecret), "expired"},
		{"not yet valid", signHS(t, claims("carol", func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), jwtSecret), "not yet valid"},
		{"wrong audience", signHS(t, claims("carol", func(c jwt.MapClaims) { c["aud"] = "other" }), jwtSecret), "audience"},
		{"wrong issuer", signHS(t, claims("carol", func(c jwt.MapClaims) { c["iss"] = "evil" }), jwtSecret), "issuer"},
		{"bad signature", signHS(t, claims("carol", nil), strings.Repeat("x", 40)), "signature"},
		{"alg none", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims("carol", nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}(), "none"},
		{"malformed", "not.a.jwt", "malformed"},
	} {
		var r response
		if c.token == "" {
			r = get(t, ts.url+"/me")
		} else {
			r = get(t, ts.url+"/me", bearer(c.token)...)
		}
		r.expect(t, 401, `"code":"unauthorized"`)
		if !strings.Contains(r.body, c.want) {
			t.Fatalf("%s: got %s; want a message about %q", c.name, r.body, c.want)
		}
	}
}
