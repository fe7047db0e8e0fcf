package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"hash"
	"sync"
)

// verify reports whether sig is k's signature of input under k's
// algorithm. The caller has already checked that the token's alg is k.alg.
func (k *key) verify(input, sig []byte) bool {
	switch k.alg {
	case algHS256:
		return k.verifyHMAC(input, sig)
	case algRS256:
		sum := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(k.rsa, crypto.SHA256, sum[:], sig) == nil
	case algES256:
		// RFC 7518 §3.4: the JWS signature is R || S, each 32 bytes, not
		// the ASN.1 form crypto/ecdsa verifies; re-encode it.
		if len(sig) != 64 {
			return false
		}
		sum := sha256.Sum256(input)
		var der [72]byte
		return ecdsa.VerifyASN1(k.ec, sum[:], appendECDSASignature(der[:0], sig[:32], sig[32:]))
	case algEdDSA:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.ed, input, sig)
	}
	return false
}

// newHMACKey returns the HS256 key for secret. It pools keyed HMAC
// states, so that a check does not rebuild the keyed hash (two SHA-256
// states and their padding) every time.
func newHMACKey(secret []byte) *key {
	secret = append([]byte(nil), secret...)
	return &key{alg: algHS256, secret: secret, macs: &sync.Pool{
		New: func() any { return hmac.New(sha256.New, secret) },
	}}
}

// verifyHMAC compares the HMAC-SHA256 of input with sig in constant time.
func (k *key) verifyHMAC(input, sig []byte) bool {
	if len(sig) != sha256.Size {
		return false
	}
	h := k.macs.Get().(hash.Hash)
	h.Reset()
	h.Write(input)
	var buf [sha256.Size]byte
	ok := hmac.Equal(h.Sum(buf[:0]), sig)
	k.macs.Put(h)
	return ok
}

// appendECDSASignature appends the DER encoding of the ECDSA signature
// (r, s) (SEC 1 §C.8: SEQUENCE { INTEGER r, INTEGER s }), where r and s
// are unsigned big-endian integers of at most 32 bytes.
func appendECDSASignature(dst, r, s []byte) []byte {
	r, s = trimLeadingZeros(r), trimLeadingZeros(s)
	n := derIntLen(r) + derIntLen(s)
	dst = append(dst, 0x30, byte(n))
	dst = appendDERInt(dst, r)
	return appendDERInt(dst, s)
}

func trimLeadingZeros(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// derIntLen is the encoded size of a non-negative INTEGER: tag, length,
// and a 0x00 pad when the high bit is set (else it would read negative).
func derIntLen(v []byte) int {
	if v[0]&0x80 != 0 {
		return 3 + len(v)
	}
	return 2 + len(v)
}

func appendDERInt(dst, v []byte) []byte {
	if v[0]&0x80 != 0 {
		dst = append(dst, 0x02, byte(len(v)+1), 0)
	} else {
		dst = append(dst, 0x02, byte(len(v)))
	}
	return append(dst, v...)
}
