package rowcodec

import (
	"encoding/json"
	"testing"

	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// demoBenchRows is how many demo customers (about 1 KB of JSON each) one
// benchmark operation encodes.
const demoBenchRows = 1000

// BenchmarkDemoRows encodes 1000 demo customer rows, fetched once from a
// real PostgreSQL in binary format, as one JSON array per operation:
//
//   - rowcodec: Plan.AppendObject over the raw values;
//   - RowToMap+encoding_json: the obvious alternative, pgx.CollectRows with
//     pgx.RowToMap, then encoding/json.Marshal of the maps;
//   - RowToMap+goccy_go-json: the same maps through goccy/go-json.
//
// For the alternatives the decoding from raw values is inside the loop
// too: replayRows hands the captured raw values to pgx.CollectRows, and its
// Values decodes them with pgtype's codecs exactly as pgx.Rows.Values does
// for a live result. Only the network read is left out, for all three.
// SetBytes is rowcodec's output size in every case, so MB/s compares like
// for like; rows/s is reported too.
func BenchmarkDemoRows(b *testing.B) {
	demo := demoRows(b, demoBenchRows)
	plan, err := NewPlan(demo.fields, Options{})
	if err != nil {
		b.Fatalf("cannot plan: %v", err)
	}
	encode := func(dst []byte) []byte {
		dst = append(dst, '[')
		for i, row := range demo.rows {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = plan.AppendObject(dst, row); err != nil {
				b.Fatalf("cannot encode: %v", err)
			}
		}
		return append(dst, ']')
	}
	size := int64(len(encode(nil)))
	report := func(b *testing.B) {
		b.ReportMetric(float64(demoBenchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	}

	b.Run("rowcodec", func(b *testing.B) {
		buf := encode(nil)
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			buf = encode(buf[:0])
		}
		report(b)
	})
	b.Run("RowToMap+encoding_json", func(b *testing.B) {
		m := pgtype.NewMap()
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			maps, err := pgx.CollectRows(newReplayRows(m, demo), pgx.RowToMap)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(maps); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("RowToMap+goccy_go-json", func(b *testing.B) {
		m := pgtype.NewMap()
		b.ReportAllocs()
		b.SetBytes(size)
		for b.Loop() {
			maps, err := pgx.CollectRows(newReplayRows(m, demo), pgx.RowToMap)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := gojson.Marshal(maps); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}

// BenchmarkTypesRows encodes every row of the types table (every type,
// arrays, composites, long numerics) per operation.
func BenchmarkTypesRows(b *testing.B) {
	conn := connect(b, newTypesDatabase(b))
	types := NewTypes()
	all := fetch(b, conn, types, "SELECT * FROM types ORDER BY id")
	plan, err := NewPlan(all.fields, Options{Types: types})
	if err != nil {
		b.Fatalf("cannot plan: %v", err)
	}
	var buf []byte
	var size int64
	for _, row := range all.rows {
		buf, _ = plan.AppendObject(buf[:0], row)
		size += int64(len(buf))
	}
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		for _, row := range all.rows {
			buf, _ = plan.AppendObject(buf[:0], row)
		}
	}
	b.ReportMetric(float64(len(all.rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkAppendString escapes a 640-byte ASCII text (the fast path) and
// one with a quote and non-ASCII every 64 bytes (the slow path).
func BenchmarkAppendString(b *testing.B) {
	plain := make([]byte, 640)
	mixed := make([]byte, 0, 640)
	for i := range plain {
		plain[i] = 'a' + byte(i%26)
	}
	for len(mixed) < 640 {
		mixed = append(mixed, `lorem ipsum dolor sit amet, consectetur "adipiscing" Zürich é`...)
	}
	for _, c := range []struct {
		name string
		s    []byte
	}{{"plain", plain}, {"mixed", mixed}} {
		b.Run(c.name, func(b *testing.B) {
			buf := AppendString(nil, c.s)
			b.ReportAllocs()
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				buf = AppendString(buf[:0], c.s)
			}
		})
	}
}

// replayRows is a pgx.Rows over captured raw values: Values decodes them
// with pgtype codecs as pgx's own rows do, so decoding cost is measured.
type replayRows struct {
	m    *pgtype.Map
	f    fetched
	next int
}

func newReplayRows(m *pgtype.Map, f fetched) *replayRows { return &replayRows{m: m, f: f} }

func (r *replayRows) Close()                                       {}
func (r *replayRows) Err() error                                   { return nil }
func (r *replayRows) CommandTag() pgconn.CommandTag                { return pgconn.NewCommandTag("SELECT") }
func (r *replayRows) FieldDescriptions() []pgconn.FieldDescription { return r.f.fields }
func (r *replayRows) Conn() *pgx.Conn                              { return nil }
func (r *replayRows) TypeMap() *pgtype.Map                         { return r.m }
func (r *replayRows) RawValues() [][]byte                          { return r.f.rows[r.next-1] }

func (r *replayRows) Next() bool {
	if r.next >= len(r.f.rows) {
		return false
	}
	r.next++
	return true
}

func (r *replayRows) Scan(dest ...any) error {
	if len(dest) == 1 {
		if rs, ok := dest[0].(pgx.RowScanner); ok {
			return rs.ScanRow(r)
		}
	}
	return pgx.ScanRow(r.m, r.f.fields, r.RawValues(), dest...)
}

func (r *replayRows) Values() ([]any, error) {
	raw := r.RawValues()
	values := make([]any, len(raw))
	for i, fd := range r.f.fields {
		if raw[i] == nil {
			continue
		}
		t, ok := r.m.TypeForOID(fd.DataTypeOID)
		if !ok {
			values[i] = string(raw[i])
			continue
		}
		v, err := t.Codec.DecodeValue(r.m, fd.DataTypeOID, fd.Format, raw[i])
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	return values, nil
}
