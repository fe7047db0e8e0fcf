//go:build !race

package rowcodec

import (
	"fmt"
	"testing"
	"time"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

// TestAllocsPerRow proves that encoding a row allocates nothing once the
// buffer has grown: every row of the types table (every supported type,
// arrays and composites included) in a zone with daylight saving time, and
// the demo customer row.
func TestAllocsPerRow(t *testing.T) {
	conn := connect(t, pgtest.NewDatabase(t, readTypesSQL(t)))
	types := NewTypes()
	all := fetch(t, conn, types, "SELECT * FROM types ORDER BY id")
	loc, err := time.LoadLocation("America/St_Johns")
	if err != nil {
		t.Fatalf("cannot load zone: %v", err)
	}
	for _, style := range []string{IntervalPostgres, IntervalPostgresVerbose, IntervalSQLStandard, IntervalISO8601} {
		plan, err := NewPlan(all.fields, Options{Location: loc, IntervalStyle: style, Types: types})
		if err != nil {
			t.Fatalf("cannot plan: %v", err)
		}
		for i, row := range all.rows {
			checkZeroAllocs(t, plan, row, fmt.Sprintf("types row %d (%s)", i+1, style))
		}
	}
	demo := demoRows(t, 10)
	plan, err := NewPlan(demo.fields, Options{})
	if err != nil {
		t.Fatalf("cannot plan: %v", err)
	}
	for _, row := range demo.rows {
		checkZeroAllocs(t, plan, row, "demo row")
	}
}

// checkZeroAllocs asserts that AppendObject, AppendArray and AppendValue
// allocate nothing for row after a first call sized the buffer.
func checkZeroAllocs(t *testing.T, plan *Plan, row [][]byte, name string) {
	t.Helper()
	buf, err := plan.AppendObject(nil, row)
	if err != nil {
		t.Fatalf("%s: cannot encode: %v", name, err)
	}
	buf = make([]byte, 0, 2*len(buf))
	if n := testing.AllocsPerRun(20, func() {
		buf, _ = plan.AppendObject(buf[:0], row)
		buf, _ = plan.AppendArray(buf[:0], row)
		for col, v := range row {
			buf, _ = plan.AppendValue(buf[:0], col, v)
		}
	}); n != 0 {
		t.Errorf("%s: got %v allocations per row; want 0", name, n)
	}
}
