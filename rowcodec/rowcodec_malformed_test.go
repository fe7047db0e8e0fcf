package rowcodec

import (
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestTruncatedValues cuts every value of the types table, as PostgreSQL
// sent it, at every length (sampled for long values) and checks that the
// codec never panics and never emits invalid JSON; for every type whose
// wire format has a fixed size or a structure (all but text-like ones) a
// cut value must be an error.
func TestTruncatedValues(t *testing.T) {
	conn := connect(t, pgtest.NewDatabase(t, readTypesSQL(t)))
	types := NewTypes()
	all := fetch(t, conn, types, "SELECT * FROM types ORDER BY id")
	plan, err := NewPlan(all.fields, Options{Types: types})
	if err != nil {
		t.Fatalf("cannot plan: %v", err)
	}
	checked := map[kind]int{}
	for r, row := range all.rows {
		for col, v := range row {
			if v == nil {
				continue
			}
			k := plan.cols[col].codec.kind
			prefixOK := k == kString || k == kBytea || k == kJSON || k == kJSONB || k == kJSONPath
			step := 1
			if len(v) > 300 {
				step = len(v)/97 + 1
			}
			for n := 0; n < len(v); n += step {
				out, err := plan.AppendValue(nil, col, v[:n])
				checkFuzz(t, v[:n], out, err)
				if err == nil && !prefixOK {
					t.Errorf("row %d column %s cut to %d of %d bytes: got %s; want an error",
						r+1, all.fields[col].Name, n, len(v), out)
				}
				checked[k]++
			}
		}
	}
	for _, k := range []kind{kInt2, kInt4, kInt8, kUint4String, kFloat4, kFloat8, kNumeric, kBool, kChar, kUUID,
		kDate, kTime, kTimeTZ, kTimestamp, kTimestampTZ, kInterval, kInet, kCidr, kMacaddr, kMacaddr8, kMoney,
		kArray, kComposite, kString, kBytea, kJSON, kJSONB} {
		if checked[k] == 0 {
			t.Errorf("no truncated value of codec kind %d was checked", k)
		}
	}
}
