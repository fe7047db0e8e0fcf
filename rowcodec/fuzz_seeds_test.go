package rowcodec

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

var writeSeeds = flag.Bool("write-seeds", false, "write the types table's binary values as fuzz seeds under testdata/fuzz")

// TestFuzzSeeds checks that every value of a built-in type in the types
// table, as PostgreSQL sends it in binary, is a seed of the fuzzer of its type family
// (testdata/fuzz/<Name>/<column>-<row>); -write-seeds writes them.
func TestFuzzSeeds(t *testing.T) {
	conn := connect(t, pgtest.NewDatabase(t, readTypesSQL(t)))
	types := NewTypes()
	all := fetch(t, conn, types, "SELECT * FROM types ORDER BY id")
	// Anonymous records of built-in types only, for FuzzRecord.
	records := fetch(t, conn, types, `SELECT ROW(1, 'a'::text, NULL::int, ROW(2.5, ARRAY[1, 2]),
		'2020-01-01 00:00:00+00'::timestamptz) AS r1, ROW('{1,NULL}'::int4[], ROW(), interval '1 day') AS r2,
		ROW(uuid '00000000-0000-0000-0000-000000000001', inet '::1', '{"a": [1]}'::jsonb, 1.5::numeric) AS r3`)
	all.fields = append(all.fields, records.fields...)
	for i := range all.rows {
		all.rows[i] = append(all.rows[i], make([][]byte, len(records.fields))...)
	}
	all.rows = append(all.rows, append(make([][]byte, len(all.fields)-len(records.fields)), records.rows[0]...))
	plan, err := NewPlan(all.fields, Options{Types: types})
	if err != nil {
		t.Fatal(err)
	}
	sel := func(oids []uint32, oid uint32) []any { return []any{byte(max(0, slices.Index(oids, oid)))} }
	for r, row := range all.rows {
		for col, v := range row {
			if v == nil || len(v) > 4096 {
				continue
			}
			c := plan.cols[col].codec
			if _, builtin := builtinInfo(c.oid); !builtin {
				continue // the value holds OIDs that differ between databases
			}
			var name string
			var args []any
			switch c.kind {
			case kString:
				name = "FuzzAppendString"
			case kInt2, kInt4, kInt8, kUint4String, kUint8String, kBool:
				name, args = "FuzzInt", sel([]uint32{21, 23, 20, 26, 28, 29, 5069, 16}, c.oid)
			case kFloat4, kFloat8:
				name = "FuzzFloat"
			case kNumeric:
				name = "FuzzNumeric"
			case kDate, kTime, kTimeTZ, kTimestamp, kTimestampTZ:
				name, args = "FuzzTime", sel([]uint32{1082, 1083, 1266, 1114, 1184}, c.oid)
			case kInterval:
				name, args = "FuzzInterval", []any{byte(r % 4)}
			case kInet, kCidr, kMacaddr, kMacaddr8:
				name, args = "FuzzNet", sel([]uint32{869, 650, 829, 774}, c.oid)
			case kUUID, kBytea, kMoney, kChar:
				name = "FuzzUUID"
			case kArray:
				name, args = "FuzzArray", []any{byte(r % 6)}
			case kComposite, kRecord:
				name = "FuzzRecord"
			case kJSON, kJSONB:
				name, args = "FuzzJSONB", sel([]uint32{114, 3802}, c.oid)
			default:
				continue
			}
			args = append(args, v)
			path := filepath.Join("testdata", "fuzz", name, fmt.Sprintf("%s-%d", all.fields[col].Name, r+1))
			seed := seedFile(args...)
			if *writeSeeds {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, seed, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, seed) {
				t.Errorf("seed %s: missing or stale (%v); run go test -run TestFuzzSeeds -write-seeds", path, err)
			}
		}
	}
}

// seedFile formats one corpus file in the `go test fuzz v1` format.
func seedFile(args ...any) []byte {
	b := []byte("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case byte:
			b = fmt.Appendf(b, "byte(%q)\n", v)
		case []byte:
			b = fmt.Appendf(b, "[]byte(%s)\n", strconv.Quote(string(v)))
		}
	}
	return b
}
