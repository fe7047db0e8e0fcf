package rowcodec

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/pgfast/pgfast/embedpg/pgtest"
)

func TestTypesBuiltins(t *testing.T) {
	types := NewTypes()
	f := func(oid uint32, name string, format int16) {
		t.Helper()
		if got := types.Name(oid); got != name {
			t.Errorf("Name(%d): got %q; want %q", oid, got, name)
		}
		if got := types.Formats(nil, []uint32{oid}); got[0] != format {
			t.Errorf("Formats(%d): got %d; want %d", oid, got[0], format)
		}
	}
	f(23, "int4", 1)
	f(1007, "_int4", 1)
	f(2249, "record", 1)
	f(2287, "_record", 1)
	f(18, "char", 1)
	f(1042, "bpchar", 1)
	f(600, "point", 0)
	f(1017, "_point", 0)
	f(3904, "int4range", 0)
	f(99999, "", 0)
	var nilTypes *Types
	if got := nilTypes.Formats(nil, []uint32{23, 600}); !slices.Equal(got, []int16{1, 0}) {
		t.Errorf("nil Types Formats: got %v; want [1 0]", got)
	}
	if got := nilTypes.Name(25); got != "text" {
		t.Errorf("nil Types Name(25): got %q; want text", got)
	}
}

func TestTypesRegister(t *testing.T) {
	types := NewTypes()
	types.Register(TypeInfo{OID: 90001, Name: "mood", Kind: 'e'})
	types.Register(TypeInfo{OID: 90002, Name: "_mood", Kind: 'b', Elem: 90001})
	types.Register(TypeInfo{OID: 90003, Name: "posint", Kind: 'd', Base: 23})
	types.Register(TypeInfo{OID: 90004, Name: "geo", Kind: 'c', Fields: []Field{{"p", 600}}})
	types.Register(TypeInfo{OID: 90005, Name: "loop", Kind: 'c', Fields: []Field{{"self", 90005}}})
	if got := types.Formats(nil, []uint32{90001, 90002, 90003, 90004, 90005}); !slices.Equal(got, []int16{1, 1, 1, 0, 0}) {
		t.Errorf("Formats: got %v; want [1 1 1 0 0]", got)
	}
	if info, ok := types.Lookup(90002); !ok || info.Name != "_mood" || info.Elem != 90001 {
		t.Errorf("Lookup(90002): got %+v, %v", info, ok)
	}
	// Replacing a type drops what was compiled from the old description.
	types.Register(TypeInfo{OID: 90004, Name: "geo", Kind: 'c', Fields: []Field{{"x", 701}}})
	if got := types.Formats(nil, []uint32{90004}); got[0] != 1 {
		t.Errorf("Formats after re-Register: got %v; want [1]", got)
	}
}

// TestTypesConcurrent compiles and looks up from many goroutines (run it
// with -race).
func TestTypesConcurrent(t *testing.T) {
	types := NewTypes()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				oid := uint32(90000 + i%10)
				if g == 0 {
					types.Register(TypeInfo{OID: oid, Name: "e", Kind: 'e'})
				}
				types.Formats(nil, []uint32{oid, oid + 1})
				types.Name(oid)
			}
		}()
	}
	wg.Wait()
}

func TestTypesLoad(t *testing.T) {
	conn := connect(t, pgtest.NewDatabase(t, readTypesSQL(t)))
	types := NewTypes()
	ctx := context.Background()
	address, pair := mustOID(t, conn, "address"), mustOID(t, conn, "pair")
	if err := types.Load(ctx, conn, 23, mustOID(t, conn, "address[]"), pair); err != nil {
		t.Fatalf("Load: %v", err)
	}
	info, ok := types.Lookup(address)
	want := []Field{{"street", 25}, {"zip", mustOID(t, conn, "posint")}, {"geo", mustOID(t, conn, "geo")},
		{"tags", 1009}, {"moods", mustOID(t, conn, "mood[]")}, {"since", 1082}}
	if !ok || info.Name != "address" || info.Kind != 'c' || !slices.Equal(info.Fields, want) {
		t.Errorf("Lookup(address): got %+v, %v; want fields %v", info, ok, want)
	}
	// Loaded recursively: the domain, the nested composite, the enum array.
	for _, name := range []string{"posint", "geo", "mood[]", "mood"} {
		if _, ok := types.Lookup(mustOID(t, conn, name)); !ok {
			t.Errorf("Lookup(%s) after Load: not found", name)
		}
	}
	if info, _ := types.Lookup(pair); !slices.Equal(info.Fields, []Field{{"a", 23}, {"b", 1700}}) {
		t.Errorf("pair fields (one dropped): got %v", info.Fields)
	}
	if got := types.Name(mustOID(t, conn, "mood[]")); got != "_mood" {
		t.Errorf("Name(mood[]): got %q; want _mood", got)
	}
	// Known OIDs cost nothing: a closed connection is not touched.
	conn.Close(ctx)
	if err := types.Load(ctx, conn, 23, address, pair); err != nil {
		t.Errorf("Load of known types on a closed connection: %v", err)
	}
	if err := types.Load(ctx, conn, 12345678); err == nil {
		t.Errorf("Load of an unknown type on a closed connection: got no error")
	}
}
