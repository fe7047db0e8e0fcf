package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// jwk holds the JSON Web Key members (RFC 7517 §4, RFC 7518 §6) pgfast
// reads. Private members (d, p, q, …) are never read.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
}

// skippedKey is a JWKS entry that was not used, and why.
type skippedKey struct {
	index int
	kid   string
	err   error
}

// parseJWKS returns the signature-verification keys of a JWK Set (RFC 7517
// §5). Entries pgfast cannot or must not use (encryption keys, symmetric
// keys, other curves, weak RSA) are returned in skipped rather than
// failing the whole set, as §5 asks of unknown members and key types.
func parseJWKS(doc []byte) (keys []*key, skipped []skippedKey, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, nil, fmt.Errorf("cannot parse JWK Set: %w", err)
	}
	if set.Keys == nil {
		return nil, nil, errors.New("cannot parse JWK Set: no \"keys\" array")
	}
	for i, raw := range set.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			skipped = append(skipped, skippedKey{i, "", fmt.Errorf("cannot parse JWK: %w", err)})
			continue
		}
		k, err := j.key()
		if err != nil {
			skipped = append(skipped, skippedKey{i, j.Kid, err})
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

// key converts a JWK into a verification key. The kid is the JWK's own,
// or its RFC 7638 thumbprint when it has none.
func (j *jwk) key() (*key, error) {
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("use %q; want sig", j.Use)
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return nil, fmt.Errorf("key_ops %q lacks verify", j.KeyOps)
	}
	var pub any
	switch j.Kty {
	case "RSA":
		n, err := b64Member("n", j.N)
		if err != nil {
			return nil, err
		}
		e, err := b64Member("e", j.E)
		if err != nil {
			return nil, err
		}
		if len(e) > 4 || new(big.Int).SetBytes(e).Int64() < 3 {
			return nil, errors.New("RSA exponent out of range")
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	case "EC":
		if j.Crv != "P-256" {
			return nil, fmt.Errorf("EC curve %q; want P-256", j.Crv)
		}
		x, err := b64Member("x", j.X)
		if err != nil {
			return nil, err
		}
		y, err := b64Member("y", j.Y)
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("EC coordinates are not 32 bytes")
		}
		p, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("invalid EC key: %w", err)
		}
		pub = p
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("OKP curve %q; want Ed25519", j.Crv)
		}
		x, err := b64Member("x", j.X)
		if err != nil {
			return nil, err
		}
		pub = ed25519.PublicKey(x)
	case "oct":
		return nil, errors.New("symmetric key ignored: HS256 secrets are configured, never fetched")
	default:
		return nil, fmt.Errorf("key type %q; want RSA, EC or OKP", j.Kty)
	}
	k, err := newPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if j.Alg != "" && j.Alg != k.alg.String() {
		return nil, fmt.Errorf("alg %q; pgfast verifies this key type with %s only", j.Alg, k.alg)
	}
	if j.Kid != "" {
		k.kid = j.Kid
	}
	return k, nil
}

// b64Member decodes a base64url JWK member, tolerating the padding some
// issuers add although RFC 7515 §2 omits it.
func b64Member(name, v string) ([]byte, error) {
	if v == "" {
		return nil, fmt.Errorf("member %q missing", name)
	}
	b, err := b64.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		return nil, fmt.Errorf("member %q is not base64url: %w", name, err)
	}
	return b, nil
}
