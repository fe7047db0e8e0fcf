package rowcodec

import (
	"errors"
	"testing"
)

// arrayBytes builds array_send bytes: dims as (length, lower bound) pairs,
// elements in row-major order, nil for NULL.
func arrayBytes(elemOID uint32, dims [][2]int32, elems ...[]byte) []byte {
	hasNull := int32(0)
	for _, e := range elems {
		if e == nil {
			hasNull = 1
		}
	}
	b := be(int32(len(dims)), hasNull, elemOID)
	for _, d := range dims {
		b = be(b, d[0], d[1])
	}
	for _, e := range elems {
		if e == nil {
			b = be(b, int32(-1))
		} else {
			b = be(b, int32(len(e)), e)
		}
	}
	return b
}

// arrayDecoder returns a decoder running the built-in codec of oid.
func arrayDecoder(oid uint32) decoder {
	e := &env{}
	c := builtinCodecs[oid]
	return func(dst, src []byte) ([]byte, error) { return c.encode(e, dst, src, 0) }
}

func TestArray(t *testing.T) {
	i4 := func(v int32) []byte { return be(v) }
	dec := arrayDecoder(1007) // _int4
	f := func(src []byte, want string) {
		t.Helper()
		checkDecode(t, dec, src, want)
	}
	f(arrayBytes(23, nil), "[]")
	f(arrayBytes(23, [][2]int32{{3, 1}}, i4(1), nil, i4(3)), "[1,null,3]")
	f(arrayBytes(23, [][2]int32{{2, 0}}, i4(7), i4(8)), "[7,8]") // lower bounds are dropped
	f(arrayBytes(23, [][2]int32{{2, 1}, {2, 1}}, i4(1), nil, i4(3), i4(4)), "[[1,null],[3,4]]")
	f(arrayBytes(23, [][2]int32{{2, 1}, {1, 1}, {2, -3}}, i4(1), i4(2), i4(3), i4(4)), "[[[1,2]],[[3,4]]]")
	f(arrayBytes(23, [][2]int32{{1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}}, i4(9)), "[[[[[[9]]]]]]")
	// An element type other than the column's is decoded by its own OID.
	f(arrayBytes(25, [][2]int32{{1, 1}}, []byte("x")), `["x"]`)
}

func TestArrayMalformed(t *testing.T) {
	i4 := be(int32(1))
	dec := arrayDecoder(1007)
	f := func(src []byte) {
		t.Helper()
		checkDecodeError(t, dec, src)
	}
	f(nil)
	f(be(int32(1), int32(0)))                                                           // header cut
	f(be(int32(-1), int32(0), uint32(23)))                                              // negative ndim
	f(be(int32(7), int32(0), uint32(23)))                                               // more than MAXDIM
	f(be(int32(1), int32(2), uint32(23), int32(1), int32(1), int32(4), i4))             // bad flags
	f(be(int32(1), int32(0), uint32(23), int32(1)))                                     // dims cut
	f(be(int32(1), int32(0), uint32(23), int32(-1), int32(1)))                          // negative length
	f(be(int32(1), int32(0), uint32(23), int32(1_000_000_000), int32(1), int32(4), i4)) // more elements than bytes
	f(be(int32(1), int32(0), uint32(23), int32(2), int32(1), int32(4), i4))             // element missing
	f(be(int32(1), int32(0), uint32(23), int32(1), int32(1), int32(5), i4))             // element cut
	f(be(int32(1), int32(0), uint32(23), int32(1), int32(1), int32(4), i4, "x"))        // trailing bytes
	f(be(int32(1), int32(0), uint32(23), int32(1), int32(1), int32(3), "abc"))          // bad int4
	f(be(int32(0), int32(0), uint32(23), "x"))                                          // trailing after empty
	if _, err := dec(nil, arrayBytes(600, [][2]int32{{1, 1}}, []byte("x"))); !errors.Is(err, ErrUnsupported) {
		t.Errorf("array of point: got %v; want ErrUnsupported", err)
	}
}

// TestArrayDepth checks that arrays nested through anonymous records stop
// at maxDepth instead of recursing without bound.
func TestArrayDepth(t *testing.T) {
	v := be(int32(0))
	for i := 0; i < maxDepth+1; i++ {
		v = arrayBytes(2249, [][2]int32{{1, 1}}, recordBytes([]uint32{2287}, v))
	}
	if _, err := arrayDecoder(2287)(nil, v); !errors.Is(err, errDepth) {
		t.Errorf("deep nesting: got %v; want %v", err, errDepth)
	}
}
