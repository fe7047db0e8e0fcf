package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// Verifier's JWKS refresher must stop on Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the fake clock's origin.
var t0 = time.Unix(1_700_000_000, 0)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// signer is a private key and what the tests need to know about it.
type signer struct {
	alg    string
	method jwt.SigningMethod
	priv   any    // what golang-jwt signs with
	pub    any    // the matching public key
	pem    []byte // PKIX PEM of pub (nil for HMAC)
	kid    string // RFC 7638 thumbprint of pub (empty for HMAC)
}

var (
	keysOnce sync.Once
	keysHS   signer
	keysRS   signer
	keysES   signer
	keysEd   signer
	keysRS2  signer // a second RSA key, for rotation and wrong-key cases
)

// testKeys generates one key per algorithm, once per test binary (an RSA
// key takes a noticeable fraction of a second to generate).
func testKeys(t testing.TB) (hs, rs, es, ed, rs2 signer) {
	t.Helper()
	keysOnce.Do(func() {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		keysHS = signer{alg: HS256, method: jwt.SigningMethodHS256, priv: secret}
		keysRS = newRSASigner()
		keysRS2 = newRSASigner()
		ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		keysES = newSigner(ES256, jwt.SigningMethodES256, ek, &ek.PublicKey)
		_, edPriv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		keysEd = newSigner(EdDSA, jwt.SigningMethodEdDSA, edPriv, edPriv.Public())
	})
	return keysHS, keysRS, keysES, keysEd, keysRS2
}

func newRSASigner() signer {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return newSigner(RS256, jwt.SigningMethodRS256, rk, &rk.PublicKey)
}

func newSigner(alg string, m jwt.SigningMethod, priv, pub any) signer {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	k, err := newPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return signer{alg: alg, method: m, priv: priv, pub: pub, kid: k.kid,
		pem: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

// sign returns a token for claims signed by golang-jwt (an independent
// implementation), with extra header members.
func (s signer) sign(t testing.TB, claims jwt.MapClaims, hdr map[string]any) []byte {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, claims)
	for k, v := range hdr {
		tok.Header[k] = v
	}
	str, err := tok.SignedString(s.priv)
	if err != nil {
		t.Fatalf("cannot sign %s token: %v", s.alg, err)
	}
	return []byte(str)
}

// withKid returns a header naming the signer's kid.
func (s signer) withKid() map[string]any { return map[string]any{"kid": s.kid} }

// claimsAt returns standard claims valid at t0: issued now, expiring in an hour.
func claimsAt(sub string) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()}
}

// handMade assembles a token from raw header and payload JSON, signed with
// HMAC-SHA256 under secret (nil: an empty signature).
func handMade(header, payload string, secret []byte) []byte {
	in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	sig := ""
	if secret != nil {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		sig = b64.EncodeToString(m.Sum(nil))
	}
	return []byte(in + "." + sig)
}

// newVerifier builds a verifier on a fake clock and closes it when the
// test ends.
func newVerifier(t testing.TB, opts Options) *Verifier {
	t.Helper()
	v, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// reasonOf returns the Reason of err, which must be an *Error.
// subject returns the sub claim, nil when the token has none.
func subject(c *Claims) []byte {
	v, _ := c.Claim("sub")
	return v
}

func reasonOf(t testing.TB, err error) string {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *jwtauth.Error", err, err)
	}
	if got, want := e.Error(), "jwtauth: "+e.Reason; got != want {
		t.Fatalf("Error(): got %q; want %q", got, want)
	}
	return e.Reason
}
