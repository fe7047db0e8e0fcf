package rowcodec

import (
	"math"
	"testing"
)

func TestIntegers(t *testing.T) {
	f := func(dec decoder, src []byte, want string) {
		t.Helper()
		checkDecode(t, dec, src, want)
	}
	f(appendInt2, be(int16(0)), "0")
	f(appendInt2, be(int16(-32768)), "-32768")
	f(appendInt2, be(int16(32767)), "32767")
	f(appendInt4, be(int32(math.MinInt32)), "-2147483648")
	f(appendInt4, be(int32(123456)), "123456")
	f(appendInt8, be(int64(math.MinInt64)), "-9223372036854775808")
	f(appendInt8, be(int64(math.MaxInt64)), "9223372036854775807")
	f(appendUint4String, be(uint32(math.MaxUint32)), `"4294967295"`)
	f(appendUint4String, be(uint32(0)), `"0"`)
	f(appendUint8String, be(uint64(math.MaxUint64)), `"18446744073709551615"`)
	f(appendBool, []byte{1}, "true")
	f(appendBool, []byte{0}, "false")
	f(appendBool, []byte{2}, "true")
}

func TestIntegersWrongLength(t *testing.T) {
	for _, dec := range []decoder{appendInt2, appendInt4, appendInt8, appendUint4String, appendUint8String, appendBool} {
		checkDecodeError(t, dec, nil)
		checkDecodeError(t, dec, make([]byte, 9))
	}
}
