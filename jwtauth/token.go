package jwtauth

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// MaxTokenBytes is the longest token Verify reads. Real tokens are a few
// hundred bytes to a few kilobytes; the bound keeps a hostile header from
// costing more than a small, fixed amount of decoding.
const MaxTokenBytes = 16 << 10

// parts is a token split into its three JWS compact serialization parts
// (RFC 7515 §7.1), still base64url-encoded. The slices point into the
// caller's token.
type parts struct {
	signingInput []byte // header "." payload: what the signature covers
	header       []byte
	payload      []byte
	signature    []byte
}

// splitToken checks the token's alphabet and splits it. Only base64url
// characters and two dots are accepted: Go's decoder would otherwise skip
// CR and LF, letting one signature verify under many spellings.
func splitToken(token []byte) (parts, error) {
	var p parts
	if len(token) == 0 {
		return p, errMalformed("empty token", nil)
	}
	if len(token) > MaxTokenBytes {
		return p, errMalformed("token longer than "+strconv.Itoa(MaxTokenBytes)+" bytes", nil)
	}
	dots := 0
	for i, c := range token {
		switch {
		case c == '.':
			dots++
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return p, errMalformed("invalid character "+strconv.QuoteRune(rune(c))+" at offset "+strconv.Itoa(i)+"; want base64url", nil)
		}
	}
	if dots != 2 {
		if dots == 4 {
			return p, errMalformed("encrypted tokens (JWE) are not supported", nil)
		}
		return p, errMalformed("want 3 dot-separated parts, got "+strconv.Itoa(dots+1), nil)
	}
	i := bytes.IndexByte(token, '.')
	j := i + 1 + bytes.IndexByte(token[i+1:], '.')
	p = parts{signingInput: token[:j], header: token[:i], payload: token[i+1 : j], signature: token[j+1:]}
	if len(p.header) == 0 || len(p.payload) == 0 {
		return p, errMalformed("empty header or payload", nil)
	}
	return p, nil
}

// header is the part of a JOSE header (RFC 7515 §4) verification uses.
type header struct {
	alg    string
	kid    string
	hasKid bool
}

// parseHeader decodes a JOSE header. Member names are matched exactly (a
// map, not a struct, whose matching would be case-insensitive and could
// read "ALG" as "alg"), and a name given twice is refused (see
// countMembers). Keys offered by the token itself (jwk, jku, x5u, x5c) are
// ignored: keys come from the configuration only. A crit member is
// refused, as RFC 7515 §4.1.11 requires for extensions not understood.
func parseHeader(enc []byte) (header, error) {
	var h header
	dec, err := b64.AppendDecode(nil, enc)
	if err != nil {
		return h, errMalformed("header is not base64url", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(dec, &raw); err != nil || raw == nil {
		return h, errMalformed("header is not a JSON object", err)
	}
	if countMembers(dec) != len(raw) {
		return h, errDuplicate("header member", dec)
	}
	if _, ok := raw["crit"]; ok {
		return h, errMalformed("critical header extensions are not supported", nil)
	}
	a, ok := raw["alg"]
	if !ok {
		return h, errMalformed("header has no alg", nil)
	}
	if a[0] != '"' {
		return h, errMalformed("alg is not a string", nil)
	}
	b, err := unquote(a)
	if err != nil {
		return h, errMalformed("alg is not a string", err)
	}
	h.alg = string(b)
	if k, ok := raw["kid"]; ok && !isNull(k) {
		if k[0] != '"' {
			return h, errMalformed("kid is not a string", nil)
		}
		if b, err = unquote(k); err != nil {
			return h, errMalformed("kid is not a string", err)
		}
		h.kid, h.hasKid = string(b), true
	}
	return h, nil
}

// isNone reports whether alg names the unsecured JWS (RFC 7518 §3.6),
// in any spelling of its case.
func isNone(alg string) bool { return strings.EqualFold(alg, "none") }
