package sqlexec

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgtype"
)

// Parameters travel in text format: PostgreSQL converts them exactly
// (numbers keep every digit). The checks here only turn the common mistakes
// into an error naming the parameter instead of a bare SQLSTATE, and they
// give one answer per type whatever the value's source: a route's path or
// query string and /v1/query's JSON accept the same texts, which are the
// texts PostgreSQL's own input functions accept for those types. Types not
// checked here are left to PostgreSQL.

// ParamError is a parameter value refused before reaching PostgreSQL.
type ParamError struct{ Msg string }

func (e *ParamError) Error() string { return e.Msg }

// Valid reports whether v is an input PostgreSQL accepts for a parameter of
// type oid, for the types checked here (integers, floats and numeric, bool,
// uuid); any other type is valid. It does not allocate.
func Valid(oid uint32, v []byte) bool {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		_, ok := ParseInt(v, intBits(oid))
		return ok
	case pgtype.Float4OID, pgtype.Float8OID, pgtype.NumericOID:
		return isDecimal(trimSpace(v))
	case pgtype.BoolOID:
		_, ok := parseBool(v)
		return ok
	case pgtype.UUIDOID:
		return isUUID(v)
	}
	return true
}

// IsInt reports whether oid is an integer type (a route's max applies).
func IsInt(oid uint32) bool {
	return oid == pgtype.Int2OID || oid == pgtype.Int4OID || oid == pgtype.Int8OID
}

// ParseInt parses an integer as PostgreSQL's int2/int4/int8 input does:
// surrounding white space, an optional sign, decimal digits, within bits.
func ParseInt(b []byte, bits int) (int64, bool) {
	b = trimSpace(b)
	if len(b) == 0 {
		return 0, false
	}
	neg := b[0] == '-'
	if b[0] == '-' || b[0] == '+' {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	limit := uint64(1) << (bits - 1) // |min|; max is limit-1
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		return -int64(n-1) - 1, true // -limit does not overflow
	}
	if n == limit {
		return 0, false
	}
	return int64(n), true
}

// parseBool is PostgreSQL's boolin: case-insensitive prefixes of true,
// false, yes and no, on and off (at least two letters), 1 and 0, with
// surrounding white space.
func parseBool(b []byte) (bool, bool) {
	b = trimSpace(b)
	if len(b) == 0 {
		return false, false
	}
	prefixOf := func(word string, minLen int) bool {
		return len(b) >= minLen && len(b) <= len(word) && bytes.EqualFold(b, []byte(word[:len(b)]))
	}
	switch {
	case prefixOf("true", 1), prefixOf("yes", 1), prefixOf("on", 2), len(b) == 1 && b[0] == '1':
		return true, true
	case prefixOf("false", 1), prefixOf("no", 1), prefixOf("off", 2), len(b) == 1 && b[0] == '0':
		return false, true
	}
	return false, false
}

// isUUID is PostgreSQL's uuid input: 32 hex digits, optionally in braces,
// with an optional hyphen after any group of four.
func isUUID(b []byte) bool {
	if len(b) > 0 && b[0] == '{' {
		if b[len(b)-1] != '}' {
			return false
		}
		b = b[1 : len(b)-1]
	}
	digits := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			digits++
		case c == '-' && digits%4 == 0 && digits > 0 && digits < 32 && b[i-1] != '-':
		default:
			return false
		}
	}
	return digits == 32
}

var specialFloats = [][]byte{[]byte("nan"), []byte("infinity"), []byte("-infinity"), []byte("+infinity"), []byte("inf"), []byte("-inf"), []byte("+inf")}

// isDecimal accepts what PostgreSQL's numeric and float input take in the
// common case: sign, digits, one point, exponent, or NaN/Infinity.
func isDecimal(b []byte) bool {
	for _, special := range specialFloats {
		if bytes.EqualFold(b, special) {
			return true
		}
	}
	digits, dot, exp := 0, false, false
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && !exp:
			dot = true
		case (c == 'e' || c == 'E') && !exp && digits > 0:
			exp, digits = true, 0
		case (c == '-' || c == '+') && (i == 0 || b[i-1] == 'e' || b[i-1] == 'E'):
		default:
			return false
		}
	}
	return digits > 0
}

// trimSpace trims what C's isspace calls white space, as PostgreSQL's
// numeric and boolean input functions do.
func trimSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\n\r\v\f")
}

func intBits(oid uint32) int {
	switch oid {
	case pgtype.Int2OID:
		return 16
	case pgtype.Int4OID:
		return 32
	}
	return 64
}

// EncodeJSON turns a request's JSON params into text-format values for the
// statement's parameter types, appended to dst. A value that cannot be one
// is a *ParamError naming its position and type.
func EncodeJSON(dst [][]byte, params []any, oids []uint32) ([][]byte, error) {
	if len(params) != len(oids) {
		return nil, &ParamError{fmt.Sprintf("the statement takes %d parameters; got %d", len(oids), len(params))}
	}
	for i, v := range params {
		b, err := encodeJSONParam(v, oids[i])
		if err == nil && bytes.IndexByte(b, 0) >= 0 {
			// Text-format input never holds a raw NUL (JSON values arrive
			// escaped); PostgreSQL's text types cannot store one.
			err = errors.New("contains a NUL byte, which PostgreSQL text cannot hold")
		}
		if err != nil {
			return nil, &ParamError{fmt.Sprintf("params[%d] ($%d, %s): %v", i, i+1, TypeName(oids[i]), err)}
		}
		dst = append(dst, b)
	}
	return dst, nil
}

func encodeJSONParam(v any, oid uint32) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		switch oid {
		case pgtype.BoolOID, pgtype.TextOID, pgtype.VarcharOID, pgtype.JSONOID, pgtype.JSONBOID, 0:
			return strconv.AppendBool(nil, x), nil
		}
		return nil, fmt.Errorf("%v is not a %s", x, TypeName(oid))
	case json.Number:
		switch oid {
		case pgtype.BoolOID, pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID, pgtype.UUIDOID, pgtype.ByteaOID:
			return nil, fmt.Errorf("a number is not a valid %s", TypeName(oid))
		}
		return textParam(string(x), oid)
	case string:
		return textParam(x, oid)
	case []any, map[string]any:
		if oid == pgtype.JSONOID || oid == pgtype.JSONBOID {
			return json.Marshal(x)
		}
		if arr, ok := x.([]any); ok && isArrayOID(oid) {
			return appendArrayLiteral(nil, arr)
		}
		return nil, fmt.Errorf("a JSON %s needs a json, jsonb or array parameter", kindOf(x))
	}
	return nil, fmt.Errorf("unsupported JSON value %T", v)
}

func textParam(s string, oid uint32) ([]byte, error) {
	b := []byte(s)
	if !Valid(oid, b) {
		return nil, fmt.Errorf("%q is not a valid %s", s, TypeName(oid))
	}
	return b, nil
}

// appendArrayLiteral writes a JSON array as a PostgreSQL array literal
// ({1,"a b",NULL,{2,3}}), quoting every string element.
func appendArrayLiteral(dst []byte, arr []any) ([]byte, error) {
	dst = append(dst, '{')
	for i, el := range arr {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch x := el.(type) {
		case nil:
			dst = append(dst, "NULL"...)
		case bool:
			dst = strconv.AppendBool(dst, x)
		case json.Number:
			dst = append(dst, x...)
		case string:
			dst = appendQuotedElement(dst, x)
		case []any:
			var err error
			if dst, err = appendArrayLiteral(dst, x); err != nil {
				return nil, err
			}
		case map[string]any:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, err
			}
			dst = appendQuotedElement(dst, string(b))
		}
	}
	return append(dst, '}'), nil
}

// appendQuotedElement writes s as a double-quoted array element.
func appendQuotedElement(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for j := 0; j < len(s); j++ {
		if s[j] == '"' || s[j] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[j])
	}
	return append(dst, '"')
}

func kindOf(v any) string {
	if _, ok := v.([]any); ok {
		return "array"
	}
	return "object"
}

func isArrayOID(oid uint32) bool {
	_, ok := arrayOIDs[oid]
	return ok
}

var arrayOIDs = map[uint32]struct{}{
	pgtype.BoolArrayOID: {}, pgtype.Int2ArrayOID: {}, pgtype.Int4ArrayOID: {}, pgtype.Int8ArrayOID: {},
	pgtype.TextArrayOID: {}, pgtype.VarcharArrayOID: {}, pgtype.Float4ArrayOID: {}, pgtype.Float8ArrayOID: {},
	pgtype.NumericArrayOID: {}, pgtype.UUIDArrayOID: {}, pgtype.DateArrayOID: {}, pgtype.TimestampArrayOID: {},
	pgtype.TimestamptzArrayOID: {}, pgtype.JSONArrayOID: {}, pgtype.JSONBArrayOID: {}, pgtype.ByteaArrayOID: {},
	pgtype.BPCharArrayOID: {}, pgtype.OIDArrayOID: {}, pgtype.InetArrayOID: {}, pgtype.CIDRArrayOID: {},
}

var pgTypeMap = pgtype.NewMap()

// TypeName names a parameter type for error messages.
func TypeName(oid uint32) string {
	if t, ok := pgTypeMap.TypeForOID(oid); ok {
		return t.Name
	}
	if oid == 0 {
		return "unknown"
	}
	return "oid " + strconv.FormatUint(uint64(oid), 10)
}
