package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// handSignedHS256 assembles a token from raw header and payload JSON (which
// a JWT library would not let repeat a name) and signs it with secret.
func handSignedHS256(header, payload, secret string) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(in))
	return in + "." + enc.EncodeToString(m.Sum(nil))
}

func jwtRequireConfig(require string) string {
	return `
auth:
  jwt: {secret: "` + jwtSecret + `"` + require + `}
routes:
  - name: whoami
    path: /whoami
    sql: SELECT $1::text AS sub
    params: [{from: jwt.sub, default: nobody}]
    auth: jwt
`
}

// TestJWTRequiredClaims: by default (auth.jwt.require: [exp]) a token
// without exp is refused, naming the claim; other claims can be required;
// require: [] accepts tokens without exp, as before the key existed.
func TestJWTRequiredClaims(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	exp := time.Now().Add(time.Hour).Unix()
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	noExp := signHS(t, jwt.MapClaims{"sub": "alice"}, jwtSecret)
	nullExp := signHS(t, jwt.MapClaims{"sub": "alice", "exp": nil}, jwtSecret)
	withExp := signHS(t, jwt.MapClaims{"sub": "alice", "exp": exp}, jwtSecret)
	noSub := signHS(t, jwt.MapClaims{"exp": exp}, jwtSecret)

	def := startServer(t, parseConfig(t, jwtRequireConfig("")), dbURL)
	for _, tok := range []string{noExp, nullExp} {
		r := get(t, def.url+"/whoami", bearer(tok)...)
		r.expect(t, 401, `"code":"unauthorized"`, "missing required claim exp")
	}
	get(t, def.url+"/whoami", bearer(withExp)...).expect(t, 200, `{"sub":"alice"}`)
	get(t, def.url+"/whoami", bearer(noSub)...).expect(t, 200, `{"sub":"nobody"}`)

	more := startServer(t, parseConfig(t, jwtRequireConfig(", require: [exp, sub, iat]")), dbURL)
	get(t, more.url+"/whoami", bearer(noSub)...).expect(t, 401, "missing required claim sub")
	get(t, more.url+"/whoami", bearer(withExp)...).expect(t, 401, "missing required claim iat")
	full := signHS(t, jwt.MapClaims{"sub": "bob", "exp": exp, "iat": time.Now().Unix()}, jwtSecret)
	get(t, more.url+"/whoami", bearer(full)...).expect(t, 200, `{"sub":"bob"}`)

	none := startServer(t, parseConfig(t, jwtRequireConfig(", require: []")), dbURL)
	get(t, none.url+"/whoami", bearer(noExp)...).expect(t, 200, `{"sub":"alice"}`)
	get(t, none.url+"/whoami", bearer(withExp)...).expect(t, 200, `{"sub":"alice"}`)
}

// TestJWTDuplicateNamesRefused: a claim or header member named twice is a
// malformed token (401), whichever value a parser would pick.
func TestJWTDuplicateNamesRefused(t *testing.T) {
	ts := startServer(t, parseConfig(t, jwtRequireConfig("")), pgtest.NewDatabase(t))
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	ok := handSignedHS256(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"alice","exp":`+exp+`}`, jwtSecret)
	get(t, ts.url+"/whoami", bearer(ok)...).expect(t, 200, `{"sub":"alice"}`)
	for _, c := range []struct{ name, header, payload, want string }{
		{"sub twice", `{"alg":"HS256"}`, `{"sub":"alice","exp":` + exp + `,"sub":"admin"}`, `claim \"sub\" occurs more than once`},
		{"sub twice, escaped", `{"alg":"HS256"}`, `{"sub":"alice","exp":` + exp + `,"\u0073ub":"admin"}`, `claim \"sub\" occurs more than once`},
		{"exp twice", `{"alg":"HS256"}`, `{"sub":"alice","exp":1,"exp":` + exp + `}`, `claim \"exp\" occurs more than once`},
		{"alg twice", `{"alg":"HS256","alg":"HS256"}`, `{"sub":"alice","exp":` + exp + `}`, `header member \"alg\" occurs more than once`},
	} {
		r := get(t, ts.url+"/whoami", bearer(handSignedHS256(c.header, c.payload, jwtSecret))...)
		if r.status != 401 || !strings.Contains(r.body, `"code":"unauthorized"`) || !strings.Contains(r.body, "malformed token") ||
			!strings.Contains(r.body, c.want) {
			t.Fatalf("%s: got %d %s; want 401 malformed token naming %s", c.name, r.status, clip(r.body), c.want)
		}
	}
}
