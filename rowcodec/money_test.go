package rowcodec

import "testing"

func TestMoney(t *testing.T) {
	f := func(cents int64, want string) {
		t.Helper()
		checkDecode(t, appendMoney, be(cents), `"`+want+`"`)
	}
	f(0, "$0.00")
	f(5, "$0.05")
	f(-150, "-$1.50")
	f(123456789, "$1,234,567.89")
	f(100000, "$1,000.00")
	f(99999, "$999.99")
	f(-9223372036854775808, "-$92,233,720,368,547,758.08")
	f(9223372036854775807, "$92,233,720,368,547,758.07")
	checkDecodeError(t, appendMoney, []byte{1})
}
