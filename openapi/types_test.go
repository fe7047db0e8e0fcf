package openapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestNormalize(t *testing.T) {
	f := func(in, wantName string, wantArray bool) {
		t.Helper()
		name, array := normalize(in)
		if name != wantName || array != wantArray {
			t.Fatalf("normalize(%q): got %q, %v; want %q, %v", in, name, array, wantName, wantArray)
		}
	}
	f("int4", "int4", false)
	f("integer", "int4", false)
	f("_int4", "int4", true)
	f("integer[]", "int4", true)
	f("integer[][]", "int4", true)
	f("int[3]", "int4", true)
	f("bigint", "int8", false)
	f("pg_catalog.int8", "int8", false)
	f("character varying(255)", "varchar", false)
	f("character varying(255)[]", "varchar", true)
	f("numeric(10,2)", "numeric", false)
	f("timestamp(3) with time zone", "timestamptz", false)
	f("timestamp without time zone", "timestamp", false)
	f("time with time zone", "timetz", false)
	f("double precision", "float8", false)
	f(`"char"`, "char", false)
	f("character(3)", "bpchar", false)
	f("Boolean", "bool", false)
	f("_timestamptz", "timestamptz", true)
	f("mood", "mood", false)
	f("_mood", "mood", true)
}

func TestSchemaForType(t *testing.T) {
	f := func(typ, want string) {
		t.Helper()
		got, err := json.Marshal(SchemaForType(typ))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("SchemaForType(%q):\ngot  %s\nwant %s", typ, got, want)
		}
	}
	special := `{"enum":["NaN","Infinity","-Infinity"],"type":"string"}`
	f("bool", `{"type":"boolean"}`)
	f("int2", `{"maximum":32767,"minimum":-32768,"type":"integer"}`)
	f("int4", `{"format":"int32","type":"integer"}`)
	f("int8", `{"format":"int64","type":"integer"}`)
	f("float4", `{"anyOf":[{"format":"float","type":"number"},`+special+`]}`)
	f("float8", `{"anyOf":[{"format":"double","type":"number"},`+special+`]}`)
	f("numeric", `{"anyOf":[{"type":"number"},`+special+`]}`)
	f("money", `{"pattern":"^-?\\$[0-9]{1,3}(,[0-9]{3})*\\.[0-9]{2}$","type":"string"}`)
	f("oid", `{"pattern":"^[0-9]+$","type":"string"}`)
	f("xid8", `{"pattern":"^[0-9]+$","type":"string"}`)
	f("text", `{"type":"string"}`)
	f("varchar", `{"type":"string"}`)
	f("bpchar", `{"type":"string"}`)
	f("name", `{"type":"string"}`)
	f(`"char"`, `{"type":"string"}`)
	f("json", `{}`)
	f("jsonb", `{}`)
	f("jsonpath", `{"type":"string"}`)
	f("uuid", `{"format":"uuid","pattern":"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$","type":"string"}`)
	f("bytea", `{"pattern":"^\\\\x([0-9a-f]{2})*$","type":"string"}`)
	f("date", `{"anyOf":[{"format":"date","type":"string"},{"pattern":"^-?infinity$| BC$|^[0-9]{5,}-","type":"string"}]}`)
	f("time", `{"pattern":"^[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?$","type":"string"}`)
	f("timetz", `{"pattern":"^[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?[+-][0-9]{2}(:[0-9]{2}){0,2}$","type":"string"}`)
	f("timestamp", `{"pattern":"^(-?infinity|[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?( BC)?)$","type":"string"}`)
	f("timestamptz", `{"anyOf":[{"format":"date-time","type":"string"},{"pattern":"^-?infinity$| BC$|^[0-9]{5,}-|[+-][0-9]{2}:[0-9]{2}:[0-9]{2}( BC)?$","type":"string"}]}`)
	f("interval", `{"type":"string"}`)
	f("inet", `{"type":"string"}`)
	f("macaddr", `{"type":"string"}`)
	f("record", `{"type":"object"}`)
	f("int4range", `{"type":"string"}`)
	f("mood", `{"type":"string"}`)
	f("_int4", `{"items":{"format":"int32","type":["integer","null","array"]},"type":"array"}`)
	f("numeric[]", `{"items":{"anyOf":[{"type":"number"},`+special+`,{"type":"null"},{"type":"array"}]},"type":"array"}`)
	f("_jsonb", `{"items":{},"type":"array"}`)
}

// schemaOf turns a schema map into a validated kin-openapi schema, as an
// OpenAPI 3.1 document would hold it.
func schemaOf(t *testing.T, m map[string]any) *openapi3.Schema {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var s openapi3.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("cannot load schema %s: %v", b, err)
	}
	if err := s.Validate(context.Background(), openapi3.IsOpenAPI31OrLater()); err != nil {
		t.Fatalf("schema %s does not validate: %v", b, err)
	}
	return &s
}

// visit validates one JSON literal against s as an OpenAPI 3.1 validator
// does (JSON Schema 2020-12, formats asserted).
func visit(s *openapi3.Schema, literal string) error {
	var v any
	if err := json.Unmarshal([]byte(literal), &v); err != nil {
		return err
	}
	return s.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

// TestRowcodecValues checks the schemas against JSON that rowcodec writes
// (the literals are its tests' expected output, edge values included): each
// validates; and against JSON of the wrong shape, which must not.
func TestRowcodecValues(t *testing.T) {
	f := func(typ string, good, bad []string) {
		t.Helper()
		s := schemaOf(t, SchemaForType(typ))
		for _, v := range good {
			if err := visit(s, v); err != nil {
				t.Errorf("%s: rowcodec's %s does not validate: %v", typ, v, err)
			}
		}
		for _, v := range bad {
			if err := visit(s, v); err == nil {
				t.Errorf("%s: %s validates; want it refused", typ, v)
			}
		}
	}
	f("bool", []string{`true`, `false`}, []string{`"t"`, `1`})
	f("int2", []string{`-32768`, `32767`, `0`}, []string{`32768`, `"1"`, `1.5`})
	f("int4", []string{`-2147483648`, `2147483647`}, []string{`2147483648`, `"1"`})
	f("int8", []string{`-9223372036854775808`, `9223372036854775807`, `42`}, []string{`"42"`, `1.5`})
	f("float4", []string{`1.5`, `3.4028235e+38`, `-0`, `"NaN"`, `"Infinity"`, `"-Infinity"`}, []string{`"1.5"`, `"nan"`})
	f("float8", []string{`0.1`, `1e-05`, `1.7976931348623157e+308`, `"NaN"`}, []string{`"0.1"`})
	f("numeric", []string{`0`, `-12.3400`, `123456789012345678901234567890.123456789`, `0.0001`, `"NaN"`, `"Infinity"`, `"-Infinity"`}, []string{`"1"`, `true`})
	f("money", []string{`"$0.00"`, `"-$1,234.56"`, `"$92,233,720,368,547,758.07"`, `"-$92,233,720,368,547,758.08"`}, []string{`12.5`, `"12.50"`})
	f("oid", []string{`"0"`, `"4294967295"`}, []string{`4294967295`})
	f("xid8", []string{`"18446744073709551615"`}, []string{`1`})
	f("text", []string{`""`, `"héllo \"x\""`, `"\u0000\ufffd"`}, []string{`1`, `null`})
	f(`"char"`, []string{`""`, `"a"`, `"\\377"`}, []string{`1`})
	f("json", []string{`{"a":[1,2]}`, `[1]`, `"s"`, `1`, `null`, `true`}, nil)
	f("jsonb", []string{`{"a":{"b":null}}`}, nil)
	f("uuid", []string{`"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`, `"00000000-0000-0000-0000-000000000000"`}, []string{`"a0eebc99"`, `"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"`, `1`})
	f("bytea", []string{`"\\x"`, `"\\x0001feff22"`}, []string{`"0001"`, `"\\x0"`, `"\\xFF"`})
	f("date", []string{`"2000-01-01"`, `"2000-02-29"`, `"0001-01-01"`, `"0044-03-15 BC"`, `"4714-11-24 BC"`, `"10030-12-09"`,
		`"5874897-12-31"`, `"infinity"`, `"-infinity"`}, []string{`"2000-01-01T00:00:00"`, `20000101`, `"yesterday"`})
	f("time", []string{`"00:00:00"`, `"12:34:56.5"`, `"23:59:59.999999"`, `"24:00:00"`, `"00:00:00.000001"`}, []string{`"12:34"`, `"12:34:56+00"`})
	f("timetz", []string{`"00:00:00+00"`, `"00:00:00+05:30"`, `"00:00:00+14"`, `"00:00:00-03:30"`, `"00:00:00-00:44:30"`, `"12:34:56.5-08"`},
		[]string{`"00:00:00"`})
	f("timestamp", []string{`"2000-01-01T00:00:00"`, `"1999-12-31T23:59:59.999999"`, `"2000-01-02T00:00:01.5"`, `"4713-11-24T00:00:00 BC"`,
		`"294276-12-31T23:59:59.999999"`, `"infinity"`, `"-infinity"`}, []string{`"2000-01-01 00:00:00"`, `"2000-01-01T00:00:00+00:00"`})
	f("timestamptz", []string{`"2000-01-01T00:00:00+00:00"`, `"1972-05-01T00:00:00+00:00"`, `"2000-01-01T05:29:59.999999+05:30"`,
		`"1920-06-01T07:00:00-05:00"`, `"1920-06-01T11:15:30-00:44:30"`, `"4713-11-24T00:00:00+00:00 BC"`,
		`"294276-12-31T23:59:59.999999+00:00"`, `"infinity"`, `"-infinity"`}, []string{`"2000-01-01T00:00:00"`, `"now"`, `0`})
	f("interval", []string{`"1 year 2 mons 3 days 04:05:06.5"`, `"P1Y2M3DT4H5M6.5S"`, `"@ 1 year ago"`, `"00:00:00"`}, []string{`1`})
	f("inet", []string{`"192.168.0.1"`, `"10.0.0.0/8"`, `"::ffff:1.2.3.4"`}, []string{`1`})
	f("cidr", []string{`"10.0.0.0/8"`}, nil)
	f("macaddr", []string{`"08:00:2b:01:02:03"`}, nil)
	f("macaddr8", []string{`"08:00:2b:01:02:03:fe:ff"`}, nil)
	f("record", []string{`{"f1":1,"f2":"a"}`, `{}`}, []string{`[1]`, `"(1,a)"`})
	f("int4range", []string{`"[1,10)"`, `"empty"`}, []string{`[1,10]`})
	f("point", []string{`"(1,2)"`}, nil)
	f("mood", []string{`"happy"`}, []string{`1`})
	f("_int4", []string{`[]`, `[1,2,3]`, `[1,null,3]`, `[[1,2],[3,4]]`, `[[[1]]]`}, []string{`"{1,2}"`, `["1"]`, `[1.5]`})
	f("text[]", []string{`["a",null]`, `[["a"],["b"]]`}, []string{`[1]`})
	f("_numeric", []string{`[1.5,"NaN",null]`, `[[1],[2]]`}, []string{`["1"]`})
	f("_timestamptz", []string{`["2000-01-01T00:00:00+00:00","infinity",null]`}, []string{`["x"]`})
	f("_jsonb", []string{`[{"a":1},null,[1]]`}, nil)
	f("_uuid", []string{`["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]`}, []string{`["x"]`})
}

// TestNullable checks that a nullable column's schema also takes null and
// that a NOT NULL one does not.
func TestNullable(t *testing.T) {
	for _, typ := range []string{"int4", "numeric", "timestamptz", "text", "_int4", "record", "uuid"} {
		s := schemaOf(t, columnSchema(Column{Name: "c", Type: typ, Nullable: true}))
		if err := visit(s, `null`); err != nil {
			t.Errorf("%s nullable: null does not validate: %v", typ, err)
		}
		s = schemaOf(t, columnSchema(Column{Name: "c", Type: typ}))
		if err := visit(s, `null`); err == nil {
			t.Errorf("%s not null: null validates; want it refused", typ)
		}
	}
}
