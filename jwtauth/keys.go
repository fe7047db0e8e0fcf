package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
)

// alg is a signature algorithm pgfast verifies. Each key type serves
// exactly one algorithm, so the key a token selects fixes the algorithm it
// may claim: that one-to-one binding is what rules out the HS/RS confusion
// (an RSA public key used as an HMAC secret) by construction.
type alg uint8

const (
	algHS256 alg = iota // HMAC with SHA-256 (RFC 7518 §3.2)
	algRS256            // RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3)
	algES256            // ECDSA P-256 with SHA-256 (RFC 7518 §3.4)
	algEdDSA            // Ed25519 (RFC 8037 §3.1)
	numAlgs
)

var algNames = [numAlgs]string{HS256, RS256, ES256, EdDSA}

// String returns the JOSE name of a.
func (a alg) String() string { return algNames[a] }

// keyHint says how to configure a key for a.
func (a alg) keyHint() string {
	if a == algHS256 {
		return "set Secret"
	}
	return "add a PublicKeys entry of that type or set JWKSURL"
}

// algByName maps a JOSE "alg" value to a supported algorithm.
func algByName(name string) (alg, bool) {
	for a, n := range algNames {
		if n == name {
			return alg(a), true
		}
	}
	return 0, false
}

// key is one verification key. It is immutable once built and shared by
// every Verify call.
type key struct {
	alg    alg    // the only algorithm this key verifies
	kid    string // the id tokens name it by; "" for the HMAC secret
	secret []byte
	rsa    *rsa.PublicKey
	ec     *ecdsa.PublicKey
	ed     ed25519.PublicKey
	macs   *sync.Pool // of keyed hash.Hash, for the HMAC secret
}

// newPublicKey wraps a parsed public key, checking that it is a type and
// size pgfast verifies with. The kid is the RFC 7638 thumbprint.
func newPublicKey(pub any) (*key, error) {
	k := &key{}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if n := p.N.BitLen(); n < MinRSABits {
			return nil, fmt.Errorf("RSA key of %d bits; want at least %d (RFC 7518 §3.3)", n, MinRSABits)
		}
		k.alg, k.rsa = algRS256, p
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA key on %s; want P-256 (ES256)", p.Curve.Params().Name)
		}
		k.alg, k.ec = algES256, p
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 key of %d bytes; want %d", len(p), ed25519.PublicKeySize)
		}
		k.alg, k.ed = algEdDSA, p
	default:
		return nil, fmt.Errorf("unsupported public key type %T; want RSA, ECDSA P-256 or Ed25519", pub)
	}
	tp, err := k.thumbprint()
	if err != nil {
		return nil, err
	}
	k.kid = tp
	return k, nil
}

// parsePEMKeys returns the public keys in the PEM blocks of p.
func parsePEMKeys(p []byte) ([]*key, error) {
	var keys []*key
	for {
		block, rest := pem.Decode(p)
		if block == nil {
			break
		}
		p = rest
		var pub any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("PEM block %q holds a private key; give pgfast only the public key", block.Type)
		default:
			return nil, fmt.Errorf("PEM block %q; want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot parse PEM block %q: %w", block.Type, err)
		}
		k, err := newPublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", block.Type, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM block found")
	}
	return keys, nil
}

var b64 = base64.RawURLEncoding

// thumbprint returns the key's RFC 7638 JWK thumbprint: the base64url
// SHA-256 of its required JWK members, in lexicographic order, without
// whitespace.
func (k *key) thumbprint() (string, error) {
	var j []byte
	switch k.alg {
	case algRS256:
		j = append(j, `{"e":"`...)
		j = b64.AppendEncode(j, big.NewInt(int64(k.rsa.E)).Bytes())
		j = append(j, `","kty":"RSA","n":"`...)
		j = b64.AppendEncode(j, k.rsa.N.Bytes())
		j = append(j, `"}`...)
	case algES256:
		pt, err := k.ec.Bytes() // 0x04 || x || y, each coordinate 32 bytes
		if err != nil {
			return "", fmt.Errorf("invalid ECDSA key: %w", err)
		}
		j = append(j, `{"crv":"P-256","kty":"EC","x":"`...)
		j = b64.AppendEncode(j, pt[1:33])
		j = append(j, `","y":"`...)
		j = b64.AppendEncode(j, pt[33:])
		j = append(j, `"}`...)
	case algEdDSA:
		j = append(j, `{"crv":"Ed25519","kty":"OKP","x":"`...)
		j = b64.AppendEncode(j, k.ed)
		j = append(j, `"}`...)
	default:
		return "", errors.New("BUG: thumbprint of a symmetric key")
	}
	sum := sha256.Sum256(j)
	return b64.EncodeToString(sum[:]), nil
}
