package rowcodec

import (
	"errors"
	"testing"
)

// recordBytes builds record_send bytes; a nil value is NULL.
func recordBytes(oids []uint32, values ...[]byte) []byte {
	b := be(int32(len(oids)))
	for i, oid := range oids {
		b = be(b, oid)
		if values[i] == nil {
			b = be(b, int32(-1))
		} else {
			b = be(b, int32(len(values[i])), values[i])
		}
	}
	return b
}

func TestAnonymousRecord(t *testing.T) {
	dec := arrayDecoder(2249) // record
	f := func(src []byte, want string) {
		t.Helper()
		checkDecode(t, dec, src, want)
	}
	f(recordBytes(nil), "{}")
	f(recordBytes([]uint32{23, 25, 16}, be(int32(5)), []byte(`a"b`), nil), `{"f1":5,"f2":"a\"b","f3":null}`)
	f(recordBytes([]uint32{2249}, recordBytes([]uint32{1007}, arrayBytes(23, [][2]int32{{1, 1}}, be(int32(1))))),
		`{"f1":{"f1":[1]}}`)
}

func TestCompositeRecord(t *testing.T) {
	types := NewTypes()
	types.Register(TypeInfo{OID: 90001, Name: "mood", Kind: 'e'})
	types.Register(TypeInfo{OID: 90002, Name: "inner", Kind: 'c', Fields: []Field{{"x", 701}, {`we"ird`, 90001}}})
	types.Register(TypeInfo{OID: 90003, Name: "outer", Kind: 'c', Fields: []Field{{"id", 20}, {"in", 90002}}})
	c := types.codec(90003)
	if c == nil || c.kind != kComposite {
		t.Fatalf("codec of a registered composite: got %+v; want a composite codec", c)
	}
	e := &env{types: types}
	dec := func(dst, src []byte) ([]byte, error) { return c.encode(e, dst, src, 0) }
	inner := recordBytes([]uint32{701, 90001}, be(uint64(0x3ff8000000000000)), []byte("happy"))
	checkDecode(t, dec, recordBytes([]uint32{20, 90002}, be(int64(7)), inner), `{"id":7,"in":{"x":1.5,"we\"ird":"happy"}}`)
	checkDecode(t, dec, recordBytes([]uint32{20, 90002}, nil, nil), `{"id":null,"in":null}`)
	// A field whose type changed (int8 -> int4) is decoded by its header's OID.
	checkDecode(t, dec, recordBytes([]uint32{23, 90002}, be(int32(7)), nil), `{"id":7,"in":null}`)
	checkDecodeError(t, dec, recordBytes([]uint32{20}, be(int64(7))))             // field count differs
	checkDecodeError(t, dec, recordBytes([]uint32{20, 90002}, be(int32(7)), nil)) // bad int8
	if _, err := dec(nil, recordBytes([]uint32{20, 600}, be(int64(7)), []byte("x"))); !errors.Is(err, ErrUnsupported) {
		t.Errorf("record with a point: got %v; want ErrUnsupported", err)
	}
}

func TestRecordMalformed(t *testing.T) {
	dec := arrayDecoder(2249)
	f := func(src []byte) {
		t.Helper()
		checkDecodeError(t, dec, src)
	}
	f(nil)
	f(be(int32(-1)))
	f(be(int32(1)))                                      // field header missing
	f(be(int32(1), uint32(23), int32(4)))                // value missing
	f(be(int32(1), uint32(23), int32(-2)))               // bad length
	f(be(int32(1), uint32(23), int32(4), int32(1), "x")) // trailing bytes
	f(be(int32(1), uint32(99999), int32(1), "x"))        // unknown type
}
