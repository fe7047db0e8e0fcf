package rowcodec

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// fd is a field description with a name, type and format.
func fd(name string, oid uint32, format int16) pgconn.FieldDescription {
	return pgconn.FieldDescription{Name: name, DataTypeOID: oid, Format: format}
}

func TestPlanRowShapes(t *testing.T) {
	plan, err := NewPlan([]pgconn.FieldDescription{
		fd("id", 20, 1), fd(`we"ird`, 25, 1), fd("p", 600, 0), fd("n", 1700, 0), fd("b", 16, 0), fd("j", 3802, 0),
	}, Options{})
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	row := [][]byte{be(int64(1)), []byte("x\ny"), []byte("(1,2)"), []byte("NaN"), []byte("t"), []byte(`{"a": 1}`)}
	f := func(got []byte, err error, want string) {
		t.Helper()
		if err != nil || string(got) != want {
			t.Errorf("got %s, %v; want %s", got, err, want)
		}
	}
	got, err := plan.AppendObject([]byte("pre"), row)
	f(got, err, `pre{"id":1,"we\"ird":"x\ny","p":"(1,2)","n":"NaN","b":true,"j":{"a": 1}}`)
	got, err = plan.AppendArray(nil, row)
	f(got, err, `[1,"x\ny","(1,2)","NaN",true,{"a": 1}]`)
	got, err = plan.AppendObject(nil, make([][]byte, 6))
	f(got, err, `{"id":null,"we\"ird":null,"p":null,"n":null,"b":null,"j":null}`)
	got, err = plan.AppendValue(nil, 5, row[5])
	f(got, err, `{"a": 1}`)
	got, err = plan.AppendValue(nil, 0, nil)
	f(got, err, `null`)
	if got := string(plan.AppendColumns(nil)); got != `[{"name":"id","type":"int8"},{"name":"we\"ird","type":"text"},{"name":"p","type":"point"},{"name":"n","type":"numeric"},{"name":"b","type":"bool"},{"name":"j","type":"jsonb"}]` {
		t.Errorf("AppendColumns: got %s", got)
	}
	if len(plan.cols) != 6 {
		t.Errorf("columns: got %d; want 6", len(plan.cols))
	}
}

func TestPlanErrors(t *testing.T) {
	f := func(fields []pgconn.FieldDescription, opts Options) {
		t.Helper()
		if _, err := NewPlan(fields, opts); err == nil {
			t.Errorf("NewPlan(%v, %+v): got no error; want one", fields, opts)
		}
	}
	f([]pgconn.FieldDescription{fd("p", 600, 1)}, Options{})   // point has no binary decoder
	f([]pgconn.FieldDescription{fd("e", 90001, 1)}, Options{}) // unknown type in binary
	f([]pgconn.FieldDescription{fd("x", 23, 2)}, Options{})    // unknown format
	f([]pgconn.FieldDescription{fd("x", 23, 1)}, Options{IntervalStyle: "german"})

	plan, err := NewPlan([]pgconn.FieldDescription{fd("a", 23, 1), fd("b", 1186, 1)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = plan.AppendObject(nil, [][]byte{be(int32(1)), []byte("short")})
	var ce *ColumnError
	if !errors.As(err, &ce) || ce.Column != 1 || ce.Name != "b" || ce.OID != 1186 || !errors.Is(err, ErrMalformed) {
		t.Errorf("malformed interval: got %v; want a ColumnError for column 1 wrapping ErrMalformed", err)
	}
	if _, err := plan.AppendArray(nil, [][]byte{be(int32(1))}); !errors.Is(err, ErrMalformed) {
		t.Errorf("one value for two columns: got %v; want ErrMalformed", err)
	}
	if _, err := plan.AppendValue(nil, 2, nil); err == nil {
		t.Errorf("AppendValue of column 2 of 2: got no error; want one")
	}
}

func TestPlanOptions(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	fields := []pgconn.FieldDescription{fd("t", 1184, 1), fd("i", 1186, 1)}
	row := [][]byte{be(int64(0)), intervalBytes(14, 0, 0)}
	f := func(opts Options, want string) {
		t.Helper()
		plan, err := NewPlan(fields, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := plan.AppendArray(nil, row); err != nil || string(got) != want {
			t.Errorf("%+v: got %s, %v; want %s", opts, got, err, want)
		}
	}
	f(Options{}, `["2000-01-01T00:00:00+00:00","1 year 2 mons"]`)
	f(Options{Location: kolkata, IntervalStyle: "iso_8601"}, `["2000-01-01T05:30:00+05:30","P1Y2M"]`)
	f(Options{IntervalStyle: "SQL_STANDARD"}, `["2000-01-01T00:00:00+00:00","1-2"]`)
}
