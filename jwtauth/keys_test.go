package jwtauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// RFC 7638 §3.1: the example RSA key's thumbprint.
func TestThumbprintRFC7638(t *testing.T) {
	n, err := b64.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	k, err := newPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatalf("newPublicKey: %v", err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; k.kid != want {
		t.Fatalf("thumbprint: got %s; want %s", k.kid, want)
	}
}

// A JWK and the PEM of the same key get the same kid when the JWK has
// none: both are the RFC 7638 thumbprint.
func TestThumbprintSameForJWKAndPEM(t *testing.T) {
	_, rs, es, ed, _ := testKeys(t)
	for _, s := range []signer{rs, es, ed} {
		doc := jwksDoc(t, jwkOf(t, s.pub, "", ""))
		keys, skipped, err := parseJWKS(doc)
		if err != nil || len(skipped) != 0 || len(keys) != 1 {
			t.Fatalf("%s: parseJWKS: got %d keys, skipped %v, %v; want 1 key", s.alg, len(keys), skipped, err)
		}
		if keys[0].kid != s.kid || keys[0].alg.String() != s.alg {
			t.Fatalf("%s: got kid %s alg %s; want kid %s alg %s", s.alg, keys[0].kid, keys[0].alg, s.kid, s.alg)
		}
	}
}

// PEM input: public keys in three wrappings are accepted, several blocks
// in one entry too; private keys, weak or unsupported keys are refused
// with a reason.
func TestParsePEMKeys(t *testing.T) {
	_, rs, es, ed, _ := testKeys(t)
	rsaPriv := rs.priv.(*rsa.PrivateKey)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaPriv.PublicKey)})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, es.pub, es.priv)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	ok := func(in []byte, wantKids ...string) {
		t.Helper()
		keys, err := parsePEMKeys(in)
		if err != nil {
			t.Fatalf("parsePEMKeys: got %v; want %d keys", err, len(wantKids))
		}
		if len(keys) != len(wantKids) {
			t.Fatalf("parsePEMKeys: got %d keys; want %d", len(keys), len(wantKids))
		}
		for i, k := range keys {
			if k.kid != wantKids[i] {
				t.Fatalf("key %d: got kid %s; want %s", i, k.kid, wantKids[i])
			}
		}
	}
	ok(rs.pem, rs.kid)
	ok(pkcs1, rs.kid)
	ok(cert, es.kid)
	ok(append(append([]byte("# issuer keys\n"), es.pem...), ed.pem...), es.kid, ed.kid)

	bad := func(in []byte, want string) {
		t.Helper()
		_, err := parsePEMKeys(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("parsePEMKeys: got %v; want an error containing %q", err, want)
		}
	}
	privDER, _ := x509.MarshalPKCS8PrivateKey(rsaPriv)
	bad(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), "holds a private key")
	bad([]byte("not a pem"), "no PEM block found")
	bad(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}), "cannot parse PEM block")
	bad(pem.EncodeToMemory(&pem.Block{Type: "DH PARAMETERS", Bytes: []byte{1}}), `PEM block "DH PARAMETERS"; want`)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	bad(pemOf(t, &small.PublicKey), "RSA key of 1024 bits; want at least 2048")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bad(pemOf(t, &p384.PublicKey), "ECDSA key on P-384; want P-256")
}

func pemOf(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// The DER re-encoding of an ES256 signature handles high bits (a 0x00 pad)
// and leading zeros (trimmed), as DER requires.
func TestAppendECDSASignature(t *testing.T) {
	f := func(r, s []byte, want []byte) {
		t.Helper()
		got := appendECDSASignature(nil, r, s)
		if string(got) != string(want) {
			t.Fatalf("appendECDSASignature(%x, %x): got %x; want %x", r, s, got, want)
		}
	}
	f([]byte{0, 0, 1}, []byte{0x80}, []byte{0x30, 7, 0x02, 1, 1, 0x02, 2, 0, 0x80})
	f([]byte{0, 0}, []byte{0x7f, 0}, []byte{0x30, 7, 0x02, 1, 0, 0x02, 2, 0x7f, 0})
	r := make([]byte, 32)
	r[0] = 0xff
	if got := len(appendECDSASignature(nil, r, r)); got != 72 {
		t.Fatalf("longest encoding: got %d bytes; want 72", got)
	}
}
