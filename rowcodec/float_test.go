package rowcodec

import (
	"math"
	"testing"
)

func TestFloat8(t *testing.T) {
	f := func(v float64, want string) {
		t.Helper()
		checkDecode(t, appendFloat8, be(math.Float64bits(v)), want)
	}
	f(math.NaN(), `"NaN"`)
	f(math.Inf(1), `"Infinity"`)
	f(math.Inf(-1), `"-Infinity"`)
	f(0, "0")
	f(math.Copysign(0, -1), "-0")
	f(1.5, "1.5")
	f(0.1, "0.1")
	f(0.0001, "0.0001")
	f(0.00001, "1e-05")
	f(123456789012345, "123456789012345")
	f(1e15, "1e+15")
	f(1234567890123456, "1.234567890123456e+15")
	f(-1e100, "-1e+100")
	f(5e-324, "5e-324")
	f(math.MaxFloat64, "1.7976931348623157e+308")
	f(100, "100")
	f(0.30000000000000004, "0.30000000000000004")
}

func TestFloat4(t *testing.T) {
	f := func(v float32, want string) {
		t.Helper()
		checkDecode(t, appendFloat4, be(math.Float32bits(v)), want)
	}
	f(float32(math.NaN()), `"NaN"`)
	f(float32(math.Inf(-1)), `"-Infinity"`)
	f(1.5, "1.5")
	f(0.1, "0.1")
	f(123456, "123456")
	f(1234567, "1.234567e+06")
	f(100000, "100000")
	f(1e6, "1e+06")
	f(0.00001, "1e-05")
	f(math.MaxFloat32, "3.4028235e+38")
	f(math.SmallestNonzeroFloat32, "1e-45")
}
