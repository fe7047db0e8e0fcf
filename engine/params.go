package engine

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgtype"
)

// encodeParams turns a request's JSON params into text-format parameter
// values for the statement's parameter types. Text format lets PostgreSQL
// do the conversion exactly (numbers keep every digit); the checks here only
// turn the common mistakes into a 400 that names the parameter, instead of a
// bare SQLSTATE from the server.
func encodeParams(dst [][]byte, params []any, oids []uint32) ([][]byte, error) {
	if len(params) != len(oids) {
		return nil, errBadRequest(fmt.Sprintf("the statement takes %d parameters; got %d", len(oids), len(params)))
	}
	for i, v := range params {
		b, err := encodeParam(v, oids[i])
		if err == nil && bytes.IndexByte(b, 0) >= 0 {
			// Text-format input never holds a raw NUL (JSON values arrive
			// escaped); PostgreSQL's text types cannot store one.
			err = errors.New("contains a NUL byte, which PostgreSQL text cannot hold")
		}
		if err != nil {
			return nil, errBadRequest(fmt.Sprintf("params[%d] ($%d, %s): %v", i, i+1, typeName(oids[i]), err))
		}
		dst = append(dst, b)
	}
	return dst, nil
}

func encodeParam(v any, oid uint32) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		switch oid {
		case pgtype.BoolOID, pgtype.TextOID, pgtype.VarcharOID, pgtype.JSONOID, pgtype.JSONBOID, 0:
			return []byte(strconv.FormatBool(x)), nil
		}
		return nil, fmt.Errorf("%v is not a %s", x, typeName(oid))
	case json.Number:
		return numberParam(string(x), oid)
	case string:
		return stringParam(x, oid)
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

func numberParam(n string, oid uint32) ([]byte, error) {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID:
		if _, err := strconv.ParseInt(n, 10, intBits(oid)); err != nil {
			return nil, fmt.Errorf("%s is not a valid %s", n, typeName(oid))
		}
	case pgtype.BoolOID:
		return nil, fmt.Errorf("%s is not a bool", n)
	case pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID, pgtype.UUIDOID, pgtype.ByteaOID:
		return nil, fmt.Errorf("a number is not a valid %s", typeName(oid))
	}
	return []byte(n), nil
}

func stringParam(s string, oid uint32) ([]byte, error) {
	var err error
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		_, err = strconv.ParseInt(strings.TrimSpace(s), 10, intBits(oid))
	case pgtype.Float4OID, pgtype.Float8OID:
		_, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
	case pgtype.BoolOID:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "y", "yes", "on", "1", "f", "false", "n", "no", "off", "0":
		default:
			err = fmt.Errorf("not a bool")
		}
	case pgtype.UUIDOID:
		if t := strings.Trim(strings.ReplaceAll(s, "-", ""), "{}"); len(t) != 32 || strings.Trim(strings.ToLower(t), "0123456789abcdef") != "" {
			err = fmt.Errorf("not a uuid")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid %s", s, typeName(oid))
	}
	return []byte(s), nil
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
			dst = append(dst, '"')
			for j := 0; j < len(x); j++ {
				if x[j] == '"' || x[j] == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, x[j])
			}
			dst = append(dst, '"')
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
			dst = append(dst, '"')
			for _, c := range b {
				if c == '"' || c == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, c)
			}
			dst = append(dst, '"')
		}
	}
	return append(dst, '}'), nil
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

// typeName names a parameter type for error messages.
func typeName(oid uint32) string {
	if t, ok := pgTypeMap.TypeForOID(oid); ok {
		return t.Name
	}
	if oid == 0 {
		return "unknown"
	}
	return "oid " + strconv.FormatUint(uint64(oid), 10)
}

// intBits is the width of an integer parameter type.
func intBits(oid uint32) int {
	switch oid {
	case pgtype.Int2OID:
		return 16
	case pgtype.Int4OID:
		return 32
	}
	return 64
}
