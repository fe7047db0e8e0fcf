package jwtauth

import (
	"bytes"
	"encoding/json"
	"iter"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Claims is a verified token's claims set (RFC 7519 §4).
//
// A *Claims is immutable and shared: the verifier caches it and returns
// the same value to every request that presents the same token, from any
// goroutine. Callers must not modify the Expires field or the bytes that
// Claim returns; copy them to keep or change them.
type Claims struct {
	// Expires is the exp claim; zero when the token has none.
	Expires time.Time

	values   map[string][]byte // claim name -> text (see Claim)
	hasExp   bool
	hasNbf   bool
	expLimit time.Time // exp + leeway: refused from this instant on
	nbfLimit time.Time // nbf - leeway: refused before this instant
}

// Claim returns the named top-level claim as text: a string claim
// unquoted (its JSON escapes decoded), a number or boolean as its JSON
// text ("42", "1.5e3", "true"), an object or array as compact JSON. A
// claim that is absent or JSON null reports false. The lookup allocates
// nothing.
func (c *Claims) Claim(name string) ([]byte, bool) {
	v, ok := c.values[name]
	return v, ok
}

// All yields every claim as Claim gives it, in no particular order.
func (c *Claims) All() iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for k, v := range c.values {
			if !yield(k, v) {
				return
			}
		}
	}
}

// checkTime refuses c at now when now is outside [nbf-leeway, exp+leeway).
// RFC 7519 §4.1.4: the token must not be accepted on or after exp;
// §4.1.5: nor before nbf. Comparing two time values allocates nothing,
// so this is done again on every cache hit.
func (c *Claims) checkTime(now time.Time) error {
	if c.hasExp && !now.Before(c.expLimit) {
		return ErrTokenExpired
	}
	if c.hasNbf && now.Before(c.nbfLimit) {
		return ErrTokenNotYetValid
	}
	return nil
}

// parseClaims decodes a verified payload into Claims and checks the claims
// that do not depend on time: no name twice, every required claim present,
// iss and aud. leeway fixes expLimit/nbfLimit.
func parseClaims(payload []byte, issuer, audience string, leeway time.Duration, require []requirement) (*Claims, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, errMalformed("claims are not a JSON object", err)
	}
	if raw == nil {
		return nil, errMalformed("claims are not a JSON object", nil)
	}
	if countMembers(payload) != len(raw) {
		return nil, errDuplicate("claim", payload)
	}
	c := &Claims{values: make(map[string][]byte, len(raw))}
	for name, v := range raw {
		text, ok, err := claimText(v)
		if err != nil {
			return nil, errMalformed("claim "+strconv.Quote(truncate(name))+" is not valid JSON", err)
		}
		if ok {
			c.values[name] = text
		}
	}
	var err error
	if c.Expires, c.hasExp, err = numericDate(raw["exp"], "exp"); err != nil {
		return nil, err
	}
	var nbf time.Time
	if nbf, c.hasNbf, err = numericDate(raw["nbf"], "nbf"); err != nil {
		return nil, err
	}
	if _, _, err = numericDate(raw["iat"], "iat"); err != nil {
		return nil, err
	}
	c.expLimit = c.Expires.Add(leeway)
	c.nbfLimit = nbf.Add(-leeway)
	if v := raw["sub"]; v != nil && !isNull(v) && v[0] != '"' {
		return nil, errMalformed("sub is not a string", nil)
	}
	for _, r := range require {
		if isNull(raw[r.name]) {
			return nil, r.err
		}
	}
	if err := checkIssuer(raw["iss"], c.values["iss"], issuer); err != nil {
		return nil, err
	}
	if err := checkAudience(raw["aud"], audience); err != nil {
		return nil, err
	}
	return c, nil
}

// claimText returns the text Claim reports for a raw JSON value; ok is
// false for null.
func claimText(v json.RawMessage) (text []byte, ok bool, err error) {
	switch {
	case isNull(v):
		return nil, false, nil
	case v[0] == '"':
		b, err := unquote(v)
		return b, err == nil, err
	case v[0] == '{' || v[0] == '[':
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			return nil, false, err
		}
		return b.Bytes(), true, nil
	default:
		return v, true, nil
	}
}

// isNull reports whether v is absent or the JSON literal null.
func isNull(v json.RawMessage) bool {
	return len(v) == 0 || string(v) == "null"
}

// maxNumericDate bounds a NumericDate to ±2^40 seconds (about 35,000
// years) so that the conversion to time.Time cannot overflow; a larger exp
// is simply "never".
const maxNumericDate = 1 << 40

// numericDate parses a NumericDate claim (RFC 7519 §2: seconds since the
// epoch, possibly fractional); ok is false when the claim is absent.
func numericDate(v json.RawMessage, name string) (t time.Time, ok bool, err error) {
	if isNull(v) {
		return time.Time{}, false, nil
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return time.Time{}, false, errMalformed(name+" is not a number", nil)
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil && !isRangeErr(err) {
		return time.Time{}, false, errMalformed(name+" is not a number", err)
	}
	f = math.Max(-maxNumericDate, math.Min(maxNumericDate, f))
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), true, nil
}

// isRangeErr reports whether a ParseFloat error is only about magnitude,
// in which case the value is ±Inf or 0 and gets clamped.
func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// checkIssuer refuses a token whose iss is not want (when want is set).
func checkIssuer(raw json.RawMessage, text []byte, want string) error {
	if !isNull(raw) && raw[0] != '"' {
		return errMalformed("iss is not a string", nil)
	}
	if want != "" && string(text) != want {
		return ErrWrongIssuer
	}
	return nil
}

// checkAudience refuses a token whose aud (a string or an array of
// strings, RFC 7519 §4.1.3) does not contain want (when want is set).
func checkAudience(raw json.RawMessage, want string) error {
	var list []string
	switch {
	case isNull(raw):
	case raw[0] == '"':
		if want == "" {
			return nil
		}
		s, err := unquote(raw)
		if err != nil {
			return errMalformed("aud is not a string or an array of strings", err)
		}
		if string(s) == want {
			return nil
		}
		return ErrWrongAudience
	case raw[0] == '[':
		if err := json.Unmarshal(raw, &list); err != nil {
			return errMalformed("aud is not a string or an array of strings", err)
		}
	default:
		return errMalformed("aud is not a string or an array of strings", nil)
	}
	if want == "" {
		return nil
	}
	if slices.Contains(list, want) {
		return nil
	}
	return ErrWrongAudience
}

// unquote decodes a JSON string that the caller's json.Unmarshal has
// already validated. The common case, no escape and valid UTF-8, is the
// bytes between the quotes, shared with v; the rest goes to
// encoding/json, which also replaces invalid UTF-8 as it always does.
func unquote(v json.RawMessage) ([]byte, error) {
	if n := len(v); n >= 2 && v[0] == '"' && v[n-1] == '"' {
		in := v[1 : n-1]
		if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
			return in, nil
		}
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// truncate shortens a token-supplied string before it goes into an error
// message, so that a client cannot make the log line arbitrarily long.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
