package rowcodec

import "encoding/binary"

// appendMoney decodes cash_send (src/backend/utils/adt/cash.c): an int64
// count of cents. It prints cash_out's text as a string, for lc_monetary
// C or POSIX, which is also what en_US gives: "$" before the amount, "-"
// before that for a negative amount, "," between groups of three digits
// and two fraction digits after a ".". Other locales' symbols and layouts
// are not reproduced.
func appendMoney(dst, src []byte) ([]byte, error) {
	if len(src) != 8 {
		return dst, errLength
	}
	v := int64(binary.BigEndian.Uint64(src))
	dst = append(dst, '"')
	u := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		u = -u // also right for the minimum int64
	}
	dst = append(dst, '$')
	// Digits right to left: two fraction digits, the point, then the
	// integer part with a separator every three digits (at least "0").
	var buf [32]byte
	i := len(buf)
	for pos := 2; ; pos-- {
		if pos == 0 {
			i--
			buf[i] = '.'
		} else if pos < 0 && pos%3 == 0 {
			i--
			buf[i] = ','
		}
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 && pos <= 0 {
			break
		}
	}
	dst = append(dst, buf[i:]...)
	return append(dst, '"'), nil
}
