package rowcodec

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// readTypesSQL returns testdata/types.sql, the reference table.
func readTypesSQL(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("../testdata/types.sql")
	if err != nil {
		tb.Fatalf("cannot read types.sql: %v", err)
	}
	return string(b)
}

// session is a set of settings the reference test runs under.
type session struct {
	timeZone, intervalStyle, dateStyle string
}

// sessions cover zones with half-hour and odd offsets, local mean time
// with seconds in old dates, daylight saving time, every IntervalStyle and
// DateStyles that JSON output must ignore.
var sessions = []session{
	{"UTC", "postgres", "ISO, MDY"},
	{"Asia/Kolkata", "iso_8601", "ISO, DMY"},
	{"America/St_Johns", "postgres", "SQL, DMY"},
	{"Africa/Monrovia", "iso_8601", "SQL, DMY"},
	{"America/New_York", "sql_standard", "German, DMY"},
	{"Europe/Amsterdam", "postgres_verbose", "Postgres, YMD"},
	{"Pacific/Chatham", "postgres", "ISO, YMD"},
}

// setSession applies s on conn and returns the matching Options, read back
// from the server's reported parameters as the engine would.
func setSession(tb testing.TB, conn *pgconn.PgConn, types *Types, s session) Options {
	tb.Helper()
	ctx := context.Background()
	sql := "SET TimeZone = '" + s.timeZone + "'; SET IntervalStyle = '" + s.intervalStyle + "'; SET DateStyle = '" + s.dateStyle + "'"
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		tb.Fatalf("cannot set session %v: %v", s, err)
	}
	loc, err := time.LoadLocation(conn.ParameterStatus("TimeZone"))
	if err != nil {
		tb.Fatalf("cannot load zone %q: %v", conn.ParameterStatus("TimeZone"), err)
	}
	return Options{Location: loc, IntervalStyle: conn.ParameterStatus("IntervalStyle"), Types: types}
}

// encodeQuery runs query with binary results for every type the codec
// decodes and returns each row's JSON object and the plan.
func encodeQuery(tb testing.TB, conn *pgconn.PgConn, opts Options, query string, allText bool) ([][]byte, *Plan) {
	tb.Helper()
	ctx := context.Background()
	sd, err := conn.Prepare(ctx, "", query, nil)
	if err != nil {
		tb.Fatalf("cannot prepare %q: %v", query, err)
	}
	oids := make([]uint32, len(sd.Fields))
	for i, f := range sd.Fields {
		oids[i] = f.DataTypeOID
	}
	if err := opts.Types.Load(ctx, conn, oids...); err != nil {
		tb.Fatalf("cannot load types: %v", err)
	}
	formats := opts.Types.Formats(nil, oids)
	if allText {
		formats = nil // every column in text format
	}
	rr := conn.ExecParams(ctx, query, nil, nil, nil, formats)
	plan, err := NewPlan(rr.FieldDescriptions(), opts)
	if err != nil {
		tb.Fatalf("cannot plan %q: %v", query, err)
	}
	var rows [][]byte
	var buf []byte
	for rr.NextRow() {
		buf, err = plan.AppendObject(buf[:0], rr.Values())
		if err != nil {
			tb.Fatalf("cannot encode row %d of %q: %v", len(rows)+1, query, err)
		}
		rows = append(rows, bytes.Clone(buf))
	}
	if _, err := rr.Close(); err != nil {
		tb.Fatalf("cannot run %q: %v", query, err)
	}
	return rows, plan
}

// referenceRows returns PostgreSQL's row_to_json text of each row of query.
func referenceRows(tb testing.TB, conn *pgconn.PgConn, query string) [][]byte {
	tb.Helper()
	res := conn.ExecParams(context.Background(), "SELECT row_to_json(q)::text FROM ("+query+") q", nil, nil, nil, nil).Read()
	if res.Err != nil {
		tb.Fatalf("cannot run reference query for %q: %v", query, res.Err)
	}
	rows := make([][]byte, len(res.Rows))
	for i, r := range res.Rows {
		rows[i] = r[0]
	}
	return rows
}

// decodeObject parses a JSON object keeping numbers as their decimal text.
func decodeObject(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		tb.Fatalf("cannot parse %s: %v", b, err)
	}
	return m
}

// compareQuery asserts that rowcodec's JSON of every row of query equals
// row_to_json's, column by column, and that it is valid JSON and UTF-8.
// Rows are told apart by their "id" column when there is one.
func compareQuery(t *testing.T, conn *pgconn.PgConn, opts Options, query string) {
	t.Helper()
	compareQueryFormats(t, conn, opts, query, false)
}

// compareQueryFormats is compareQuery, with every column in text format
// when allText.
func compareQueryFormats(t *testing.T, conn *pgconn.PgConn, opts Options, query string, allText bool) {
	t.Helper()
	got, plan := encodeQuery(t, conn, opts, query, allText)
	want := referenceRows(t, conn, query)
	if len(got) != len(want) {
		t.Fatalf("%q: got %d rows; want %d", query, len(got), len(want))
	}
	for i := range got {
		if !json.Valid(got[i]) || !utf8.Valid(got[i]) {
			t.Fatalf("%q row %d: invalid JSON or UTF-8: %q", query, i+1, got[i])
		}
		g, w := decodeObject(t, got[i]), decodeObject(t, want[i])
		row := any(i + 1)
		if id, ok := w["id"]; ok {
			row = id
		}
		if len(g) != len(w) || len(plan.cols) != len(w) {
			t.Errorf("%q row %v: got %d keys (%d columns); want %d", query, row, len(g), len(plan.cols), len(w))
		}
		for k, wv := range w {
			if gv, ok := g[k]; !ok || !reflect.DeepEqual(gv, wv) {
				path, gd, wd := firstDiff(k, gv, wv)
				t.Errorf("row %v column %s: at %s\n got %s\nwant %s", row, k, path, shorten(gd), shorten(wd))
			}
		}
	}
}

// firstDiff finds where two parsed values first differ.
func firstDiff(path string, got, want any) (string, any, any) {
	switch w := want.(type) {
	case map[string]any:
		if g, ok := got.(map[string]any); ok && len(g) == len(w) {
			for k, wv := range w {
				if gv, ok := g[k]; !ok || !reflect.DeepEqual(gv, wv) {
					return firstDiff(path+"."+k, gv, wv)
				}
			}
		}
	case []any:
		if g, ok := got.([]any); ok && len(g) == len(w) {
			for i := range w {
				if !reflect.DeepEqual(g[i], w[i]) {
					return firstDiff(path+"["+strconv.Itoa(i)+"]", g[i], w[i])
				}
			}
		}
	}
	return path, got, want
}

// shorten renders a parsed value for a failure message, cut at 400 bytes.
func shorten(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// TestMatchesRowToJSON is the reference test: every column of the types
// table, under every session of sessions, equals row_to_json.
func TestMatchesRowToJSON(t *testing.T) {
	conn := connect(t, pgtest.NewDatabase(t, readTypesSQL(t)))
	types := NewTypes()
	for _, s := range sessions {
		t.Run(strings.ReplaceAll(s.timeZone, "/", "_")+"_"+s.intervalStyle, func(t *testing.T) {
			opts := setSession(t, conn, types, s)
			compareQuery(t, conn, opts, "SELECT * FROM types ORDER BY id")
			// The table's row type as one composite column.
			compareQuery(t, conn, opts, "SELECT id, t AS whole FROM types t ORDER BY id")
		})
	}
}

// TestMatchesRowToJSONRecords covers anonymous records (keys f1, f2, …),
// nested ones, and records holding enums and composites.
func TestMatchesRowToJSONRecords(t *testing.T) {
	conn := connect(t, pgtest.NewDatabase(t, readTypesSQL(t)))
	opts := setSession(t, conn, NewTypes(), sessions[2])
	if err := opts.Types.Load(context.Background(), conn, mustOID(t, conn, "address"), mustOID(t, conn, "_mood")); err != nil {
		t.Fatalf("cannot load types: %v", err)
	}
	compareQuery(t, conn, opts, `SELECT 1 AS id,
		ROW(1, 'a'::text, NULL::int, ROW(2.5, ARRAY[1, 2]), '2020-01-01 00:00:00+00'::timestamptz) AS r,
		ROW('sad'::mood, ROW('x', 5, NULL, '{}', '{happy}', 'infinity')::address, '{ok,NULL}'::mood[]) AS typed,
		ARRAY[ROW(1, 'x'), ROW(2, NULL)] AS recs,
		ROW() AS empty,
		ROW(ROW(ROW(ROW(1)))) AS deep, '1 2'::int2vector AS iv, '3 4'::oidvector AS ov`)
}

// TestMatchesRowToJSONTextFallback covers types without a binary decoder:
// requested in text format, they come out as strings, as in row_to_json.
func TestMatchesRowToJSONTextFallback(t *testing.T) {
	conn := connect(t, pgtest.NewDatabase(t))
	opts := setSession(t, conn, NewTypes(), sessions[0])
	compareQuery(t, conn, opts, `SELECT point '(1,2.5)' AS p, int4range(1, 10) AS r, 'a b:2'::tsvector AS ts,
		'<a>x</a>'::xml AS x, 'pg_class'::regclass AS rc, 'int4'::regtype AS rt, '(0,1)'::tid AS tid,
		circle '<(0,0),1>' AS c, '0/16B3748'::pg_lsn AS lsn, B'1010' AS bits, NULL::point AS nothing`)
}

// TestMatchesRowToJSONTextFormat reads the columns whose output text is
// also their JSON form in text format: numbers and bools keep their JSON
// type, json and jsonb stay JSON, the rest become strings, as in
// row_to_json.
func TestMatchesRowToJSONTextFormat(t *testing.T) {
	conn := connect(t, pgtest.NewDatabase(t, readTypesSQL(t)))
	opts := setSession(t, conn, NewTypes(), sessions[1])
	compareQueryFormats(t, conn, opts, `SELECT id, c_int2, c_int4, c_int8, c_oid, c_float4, c_float8, c_numeric,
		c_numeric_neg, c_bool, c_text, c_varchar, c_bpchar, c_name, c_char, c_json, c_jsonb, c_uuid, c_bytea,
		c_inet, c_cidr, c_macaddr, c_macaddr8, c_money, c_mood, c_posint FROM types ORDER BY id`, true)
}

// mustOID returns the OID of the named type.
func mustOID(tb testing.TB, conn *pgconn.PgConn, name string) uint32 {
	tb.Helper()
	res := conn.ExecParams(context.Background(), "SELECT $1::regtype::oid", [][]byte{[]byte(name)}, nil, nil, nil).Read()
	if res.Err != nil || len(res.Rows) != 1 {
		tb.Fatalf("cannot find type %s: %v", name, res.Err)
	}
	return parseOID(res.Rows[0][0])
}
