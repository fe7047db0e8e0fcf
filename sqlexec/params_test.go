package sqlexec

import (
	"strings"
	"testing"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestValid is the one answer per type that routes (path, query, header,
// body and JWT values) and /v1/query (JSON strings) both get: the texts
// PostgreSQL's own input functions accept.
func TestValid(t *testing.T) {
	f := func(oid uint32, in string, want bool) {
		t.Helper()
		if got := Valid(oid, []byte(in)); got != want {
			t.Errorf("Valid(%s, %q) = %v; want %v", TypeName(oid), in, got, want)
		}
	}
	// Integers: white space, sign, range of the type.
	f(pgtype.Int4OID, "42", true)
	f(pgtype.Int4OID, " 42 ", true)
	f(pgtype.Int4OID, "+7", true)
	f(pgtype.Int4OID, "-2147483648", true)
	f(pgtype.Int4OID, "2147483647", true)
	f(pgtype.Int4OID, "2147483648", false)
	f(pgtype.Int2OID, "32768", false)
	f(pgtype.Int2OID, "-32768", true)
	f(pgtype.Int8OID, "9223372036854775807", true)
	f(pgtype.Int8OID, "9223372036854775808", false)
	f(pgtype.Int8OID, "-9223372036854775808", true)
	f(pgtype.Int4OID, "", false)
	f(pgtype.Int4OID, "-", false)
	f(pgtype.Int4OID, "1.0", false)
	f(pgtype.Int4OID, "abc", false)
	f(pgtype.Int4OID, "1 2", false)
	// Floats and numeric.
	f(pgtype.Float8OID, "1.5e-3", true)
	f(pgtype.Float8OID, " -2 ", true)
	f(pgtype.NumericOID, "NaN", true)
	f(pgtype.Float8OID, "-Infinity", true)
	f(pgtype.NumericOID, "1.2.3", false)
	f(pgtype.NumericOID, "e5", false)
	// Booleans: boolin's words and unique prefixes.
	for _, in := range []string{"t", "true", "TRUE", "tr", "y", "yes", "on", "1", "f", "false", "n", "no", "off", "of", "0", " yes "} {
		f(pgtype.BoolOID, in, true)
	}
	for _, in := range []string{"", "o", "2", "truth", "yess", "nope", "onn"} {
		f(pgtype.BoolOID, in, false)
	}
	// UUIDs: braces, hyphens after groups of four.
	f(pgtype.UUIDOID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", true)
	f(pgtype.UUIDOID, "A0EEBC999C0B4EF8BB6D6BB9BD380A11", true)
	f(pgtype.UUIDOID, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", true)
	f(pgtype.UUIDOID, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", true)
	f(pgtype.UUIDOID, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", false)
	f(pgtype.UUIDOID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", false)
	f(pgtype.UUIDOID, "-a0eebc999c0b4ef8bb6d6bb9bd380a11", false)
	f(pgtype.UUIDOID, "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11", false)
	f(pgtype.UUIDOID, "a0e-ebc999c0b4ef8bb6d6bb9bd380a11", false)
	f(pgtype.UUIDOID, "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", false)
	// Unchecked types are PostgreSQL's to judge.
	f(pgtype.TextOID, "anything", true)
	f(pgtype.DateOID, "not a date", true)
}

func TestEncodeJSON(t *testing.T) {
	f := func(param string, oid uint32, want string, wantErr string) {
		t.Helper()
		dec := json.NewDecoder(strings.NewReader(param))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		got, err := EncodeJSON(nil, []any{v}, []uint32{oid})
		switch {
		case wantErr != "":
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("EncodeJSON(%s, %s): err %v; want one containing %q", param, TypeName(oid), err, wantErr)
			}
		case err != nil:
			t.Errorf("EncodeJSON(%s, %s): %v", param, TypeName(oid), err)
		case want == "NULL" && got[0] != nil, want != "NULL" && string(got[0]) != want:
			t.Errorf("EncodeJSON(%s, %s) = %q; want %q", param, TypeName(oid), got[0], want)
		}
	}
	f(`null`, pgtype.Int4OID, "NULL", "")
	f(`12345678901234567890`, pgtype.NumericOID, "12345678901234567890", "")
	f(`42`, pgtype.Int4OID, "42", "")
	f(`"42"`, pgtype.Int4OID, "42", "")
	f(`2147483648`, pgtype.Int4OID, "", `params[0] ($1, int4): "2147483648" is not a valid int4`)
	f(`1.5`, pgtype.Int8OID, "", "is not a valid int8")
	f(`1`, pgtype.BoolOID, "", "a number is not a valid bool")
	f(`"y"`, pgtype.BoolOID, "y", "")
	f(`"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"`, pgtype.UUIDOID, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "")
	f(`true`, pgtype.BoolOID, "true", "")
	f(`true`, pgtype.Int4OID, "", "true is not a int4")
	f(`{"a":[1,2]}`, pgtype.JSONBOID, `{"a":[1,2]}`, "")
	f(`[1,"a b",null,[2,3],"q\"\\"]`, pgtype.TextArrayOID, `{1,"a b",NULL,{2,3},"q\"\\"}`, "")
	f(`[1]`, pgtype.Int4OID, "", "a JSON array needs a json, jsonb or array parameter")
	f(`"a\u0000b"`, pgtype.TextOID, "", "contains a NUL byte")

	if _, err := EncodeJSON(nil, []any{json.Number("1")}, nil); err == nil || !strings.Contains(err.Error(), "takes 0 parameters; got 1") {
		t.Errorf("EncodeJSON with too many params: err %v; want a count mismatch", err)
	}
}

func TestParseIntEdges(t *testing.T) {
	f := func(in string, bits int, want int64, ok bool) {
		t.Helper()
		got, gotOK := ParseInt([]byte(in), bits)
		if gotOK != ok || got != want {
			t.Errorf("ParseInt(%q, %d) = %d, %v; want %d, %v", in, bits, got, gotOK, want, ok)
		}
	}
	f("0", 64, 0, true)
	f("-0", 64, 0, true)
	f("00000000000000000000007", 64, 7, true) // leading zeros, as PostgreSQL reads them
	f("-9223372036854775808", 64, -9223372036854775808, true)
	f("99999999999999999999", 64, 0, false)
	f("-129", 8, 0, false)
	f("-128", 8, -128, true)
}
