package openapi

import (
	"encoding/json"
	"strconv"
	"strings"
)

// The JSON Schema of each PostgreSQL type is the schema of what rowcodec
// writes for it, which is what row_to_json writes (rowcodec's package doc):
//
//	PostgreSQL type                         JSON written by rowcodec             schema
//	bool                                    true / false                         boolean
//	int2                                    number                               integer, -32768..32767
//	int4                                    number                               integer, format int32
//	int8                                    number (every digit, not a string)   integer, format int64
//	float4, float8                          number; "NaN", "Infinity",           anyOf number (format float/double)
//	                                        "-Infinity" as strings                 | string enum of the three
//	numeric                                 number (exact decimal text);         anyOf number | string enum
//	                                        "NaN", "Infinity", "-Infinity"
//	money                                   string "$1,234.56" (lc_monetary C)   string, pattern
//	oid, xid, cid, xid8                     string of digits                     string, pattern ^[0-9]+$
//	text, varchar, bpchar, name, "char",    string                               string
//	  unknown, refcursor, jsonpath
//	json, jsonb                             the value itself                     {} (any JSON value)
//	uuid                                    string, lower-case 8-4-4-4-12        string, format uuid, pattern
//	bytea                                   string "\\x0a1b" (bytea_output hex)  string, pattern ^\\x([0-9a-f]{2})*$
//	date                                    "2024-01-31"; "infinity",            anyOf string format date
//	                                        "-infinity", "0044-03-15 BC"           | string pattern (the rest)
//	time                                    "13:45:00.5"                         string, pattern
//	timetz                                  "13:45:00+02", "13:45:00-03:30"      string, pattern
//	timestamp                               "2024-01-31T13:45:00.5" (no zone)    string, pattern
//	timestamptz                             "2024-01-31T13:45:00.5+00:00"        anyOf string format date-time
//	                                        (session TimeZone); "infinity", BC,    | string pattern (the rest)
//	                                        years past 9999, LMT offsets +HH:MM:SS
//	interval                                string in the session IntervalStyle  string
//	inet, cidr, macaddr, macaddr8           string ("10.0.0.1/8", "08:00:2b:…")  string
//	record (and composites, see below)      object                               object
//	arrays (_int4, integer[], …)            nested arrays, NULL elements null    array; items: the element schema
//	                                                                               or null or an inner array
//	anything else (enums, ranges, geometry, string (enum label, or the type's     string
//	  tsvector, xml, bit, extension types)  text output)
//
// The anyOf second branches exist so that a validator that asserts formats
// (kin-openapi does) accepts every value rowcodec writes, the edge values
// included; the first branch is the common case a client generator reads.
// Type names are taken as format_type or pg_type.typname spells them:
// "integer" and "int4", "integer[]" and "_int4", "character varying(20)",
// "timestamp(3) with time zone", "pg_catalog.int8" all work. A name that is
// not a built-in type is taken as an enum (a string): the engine passes a
// domain's base type and "record" for a composite type, whose fields
// Column does not carry.

// specialNumbers are the non-finite values rowcodec writes as strings for
// float4, float8 and numeric (NaN and the infinities are not JSON numbers).
var specialNumbers = []any{"NaN", "Infinity", "-Infinity"}

// Patterns (ECMA 262, as JSON Schema has them) of the string encodings.
const (
	patternDigits = `^[0-9]+$`
	patternMoney  = `^-?\$[0-9]{1,3}(,[0-9]{3})*\.[0-9]{2}$`
	patternUUID   = `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	patternBytea  = `^\\x([0-9a-f]{2})*$`
	patternTime   = `^[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$`
	patternTimeTZ = `^[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?[+-][0-9]{2}(:[0-9]{2}){0,2}$`
	patternTS     = `^(-?infinity|[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?( BC)?)$`
	// patternDateRest matches the dates format "date" (RFC 3339 full-date)
	// leaves out: the infinities, BC dates and years past 9999.
	patternDateRest = `^-?infinity$| BC$|^[0-9]{5,}-`
	// patternTSTZRest adds zone offsets with seconds (local mean time
	// before a zone had standard time) to what RFC 3339 leaves out.
	patternTSTZRest = `^-?infinity$| BC$|^[0-9]{5,}-|[+-][0-9]{2}:[0-9]{2}:[0-9]{2}( BC)?$`
)

// aliases maps the SQL spellings format_type gives (and a few more) to
// pg_type.typname.
var aliases = map[string]string{
	"boolean":                     "bool",
	"smallint":                    "int2",
	"integer":                     "int4",
	"int":                         "int4",
	"bigint":                      "int8",
	"real":                        "float4",
	"double precision":            "float8",
	"decimal":                     "numeric",
	"character varying":           "varchar",
	"character":                   "bpchar",
	`"char"`:                      "char",
	"bit varying":                 "varbit",
	"time without time zone":      "time",
	"time with time zone":         "timetz",
	"timestamp without time zone": "timestamp",
	"timestamp with time zone":    "timestamptz",
	"smallserial":                 "int2",
	"serial":                      "int4",
	"bigserial":                   "int8",
}

// normalize turns a type name into pg_type.typname of the element type, and
// tells whether the name was an array type.
func normalize(pgType string) (name string, array bool) {
	s := strings.ToLower(strings.TrimSpace(pgType))
	s = strings.TrimPrefix(s, "pg_catalog.")
	for strings.HasSuffix(s, "]") {
		i := strings.LastIndexByte(s, '[')
		if i < 0 {
			break
		}
		s, array = strings.TrimSpace(s[:i]), true
	}
	// Drop type modifiers wherever they are: "numeric(10,2)",
	// "timestamp(3) with time zone".
	for {
		i := strings.IndexByte(s, '(')
		j := strings.IndexByte(s, ')')
		if i < 0 || j < i {
			break
		}
		s = s[:i] + s[j+1:]
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 1 && s[0] == '_' {
		s, array = s[1:], true
	}
	if a, ok := aliases[s]; ok {
		s = a
	}
	return s, array
}

// SchemaForType returns the JSON Schema (2020-12, as OpenAPI 3.1 has it) of
// the JSON rowcodec writes for a non-NULL value of pgType; see the table
// above. The map is new on every call and the caller may change it.
func SchemaForType(pgType string) map[string]any {
	name, array := normalize(pgType)
	s := scalarSchema(name)
	if array {
		return arrayOf(s)
	}
	return s
}

// arrayOf is the schema of an array of elem: array_to_json writes one
// nested JSON array per dimension and NULL elements as null, and a
// PostgreSQL array type does not fix its number of dimensions.
func arrayOf(elem map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": withTypes(elem, "null", "array")}
}

func scalarSchema(name string) map[string]any {
	switch name {
	case "bool":
		return typed("boolean")
	case "int2":
		return map[string]any{"type": "integer", "minimum": -32768, "maximum": 32767}
	case "int4":
		return map[string]any{"type": "integer", "format": "int32"}
	case "int8":
		return map[string]any{"type": "integer", "format": "int64"}
	case "float4":
		return numberOrSpecial(map[string]any{"type": "number", "format": "float"})
	case "float8":
		return numberOrSpecial(map[string]any{"type": "number", "format": "double"})
	case "numeric":
		return numberOrSpecial(typed("number"))
	case "money":
		return pattern(patternMoney)
	case "oid", "xid", "cid", "xid8":
		return pattern(patternDigits)
	case "json", "jsonb":
		return map[string]any{} // the stored JSON, verbatim: any value
	case "uuid":
		return map[string]any{"type": "string", "format": "uuid", "pattern": patternUUID}
	case "bytea":
		return pattern(patternBytea)
	case "date":
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string", "format": "date"},
			pattern(patternDateRest),
		}}
	case "time":
		return pattern(patternTime)
	case "timetz":
		return pattern(patternTimeTZ)
	case "timestamp":
		return pattern(patternTS)
	case "timestamptz":
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string", "format": "date-time"},
			pattern(patternTSTZRest),
		}}
	case "record":
		return typed("object")
	}
	// text, varchar, bpchar, name, char, interval, inet, cidr, macaddr,
	// jsonpath, enums, and every type read in text format.
	return typed("string")
}

func typed(t string) map[string]any { return map[string]any{"type": t} }

func pattern(p string) map[string]any { return map[string]any{"type": "string", "pattern": p} }

func numberOrSpecial(num map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{num, map[string]any{"type": "string", "enum": specialNumbers}}}
}

// withTypes returns s widened to also accept JSON values of the given
// types (for "null": a NULL). A single "type" becomes a type array, which
// keeps the other keywords meaningful since format, pattern and minimum
// apply to strings and numbers only; an anyOf gets one branch per type;
// the empty schema already accepts everything.
func withTypes(s map[string]any, types ...string) map[string]any {
	if len(s) == 0 {
		return s
	}
	out := make(map[string]any, len(s))
	for k, v := range s {
		out[k] = v
	}
	if branches, ok := s["anyOf"].([]any); ok {
		bs := append([]any(nil), branches...)
		for _, t := range types {
			bs = append(bs, typed(t))
		}
		out["anyOf"] = bs
		return out
	}
	switch t := s["type"].(type) {
	case string:
		ts := []any{t}
		for _, x := range types {
			ts = append(ts, x)
		}
		out["type"] = ts
	case []any:
		out["type"] = append(append([]any(nil), t...), toAny(types)...)
	default:
		// Keywords without a type: add the types as alternatives.
		bs := []any{s}
		for _, t := range types {
			bs = append(bs, typed(t))
		}
		return map[string]any{"anyOf": bs}
	}
	return out
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// nullable is s or null, for a column that may be NULL.
func nullable(s map[string]any) map[string]any { return withTypes(s, "null") }

// paramSchema is the schema of a parameter's value as a request carries it.
// Parameters reach PostgreSQL as text (sqlexec), so an array is written as
// a PostgreSQL array literal ("{1,2,3}") from any source, and json/jsonb
// come as JSON text in a path, query or header, as any JSON value in the
// body. Other types take the schema of their output, which their input
// functions accept.
func paramSchema(p Param) map[string]any {
	name, array := normalize(p.Type)
	var s map[string]any
	switch {
	case array:
		s = map[string]any{"type": "string", "description": "PostgreSQL array literal, e.g. {1,2,3}"}
	case (name == "json" || name == "jsonb") && p.Source != "body":
		s = map[string]any{"type": "string", "description": "JSON text"}
	default:
		s = scalarSchema(name)
	}
	s["x-pgfast-type"] = p.Type
	if p.Max != nil {
		s["maximum"] = *p.Max
	}
	if p.Default != nil {
		if v, ok := typedDefault(s, *p.Default); ok {
			s["default"] = v
		}
	}
	return s
}

// typedDefault converts a parameter's default (text, as configured) to a
// JSON value of s's type. It declines (false) for text the type does not
// read, and for string schemas with a format or pattern, which a default
// such as "now" need not match; the caller then names it in prose.
func typedDefault(s map[string]any, def string) (any, bool) {
	if _, ok := s["anyOf"]; ok {
		// number or special: a number, or one of the special strings.
		if isJSONNumber(def) {
			return json.Number(def), true
		}
		for _, sp := range specialNumbers {
			if def == sp {
				return def, true
			}
		}
		return nil, false
	}
	switch s["type"] {
	case "integer":
		if v, err := strconv.ParseInt(strings.TrimSpace(def), 10, 64); err == nil {
			return v, true
		}
	case "number":
		if isJSONNumber(def) {
			return json.Number(def), true
		}
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(def)) {
		case "t", "true", "y", "yes", "on", "1":
			return true, true
		case "f", "false", "n", "no", "off", "0":
			return false, true
		}
	case "string":
		_, hasPattern := s["pattern"]
		_, hasFormat := s["format"]
		if !hasPattern && !hasFormat {
			return def, true
		}
	}
	return nil, false
}

// isJSONNumber reports whether s is one JSON number.
func isJSONNumber(s string) bool {
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil && n.String() == s
}
