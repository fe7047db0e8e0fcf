package rowcodec

import "testing"

// numericBytes builds numeric_send bytes.
func numericBytes(weight int16, sign uint16, dscale uint16, digits ...uint16) []byte {
	parts := []any{uint16(len(digits)), weight, sign, dscale}
	for _, d := range digits {
		parts = append(parts, d)
	}
	return be(parts...)
}

func TestNumeric(t *testing.T) {
	f := func(src []byte, want string) {
		t.Helper()
		checkDecode(t, appendNumeric, src, want)
	}
	f(numericBytes(0, numericPos, 0), "0")
	f(numericBytes(0, numericPos, 3), "0.000")
	f(numericBytes(0, numericPos, 0, 1), "1")
	f(numericBytes(0, numericNeg, 1, 1, 5000), "-1.5")
	f(numericBytes(1, numericPos, 4, 1, 2345, 6789), "12345.6789")
	f(numericBytes(1, numericPos, 2, 12, 3456, 7800), "123456.78")
	f(numericBytes(-1, numericPos, 4, 1), "0.0001")
	f(numericBytes(-2, numericPos, 10, 100), "0.0000010000")
	f(numericBytes(2, numericPos, 0, 1), "100000000") // trailing zero digits are implied
	f(numericBytes(0, numericNaN, 0), `"NaN"`)
	f(numericBytes(0, numericPInf, 0), `"Infinity"`)
	f(numericBytes(0, numericNInf, 0), `"-Infinity"`)
	f(numericBytes(0, numericPos, 2, 9999, 9900), "9999.99")
	f(numericBytes(0, numericPos, 1, 9999, 9999), "9999.9") // dscale truncates
	f(numericBytes(2, numericPos, 0), "0")                  // leading zero digits are skipped
	f(numericBytes(2, numericPos, 0, 0, 12), "120000")
}

func TestNumericMalformed(t *testing.T) {
	f := func(src []byte) {
		t.Helper()
		checkDecodeError(t, appendNumeric, src)
	}
	f(nil)
	f(be(uint16(1), int16(0), uint16(0), uint16(0))) // a digit announced, none sent
	f(numericBytes(0, 0x1234, 0, 1))                 // unknown sign
	f(numericBytes(0, numericPos, 0, 10000))         // digit out of base
	f(numericBytes(0, numericPos, 0x4000, 1))        // dscale out of range
	f(append(numericBytes(0, numericPos, 0, 1), 0))  // trailing byte
}
