package rowcodec

import "encoding/binary"

// Sign words of numeric_send (src/backend/utils/adt/numeric.c).
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000 // PostgreSQL 14 and later
	numericNInf = 0xF000
	// numericDscaleMask bounds the display scale as NUMERIC_DSCALE_MASK does.
	numericDscaleMask = 0x3FFF
)

// appendNumeric decodes numeric_send: int16 ndigits, int16 weight (of the
// first base-10000 digit), int16 sign, int16 dscale, then ndigits int16
// base-10000 digits. It prints the exact decimal text of get_str_from_var:
// the integer part without leading zeros ("0" when weight < 0) and exactly
// dscale fraction digits. The special values are not JSON numbers, so
// row_to_json quotes them, and so does this.
func appendNumeric(dst, src []byte) ([]byte, error) {
	if len(src) < 8 {
		return dst, errShort
	}
	ndigits := int(binary.BigEndian.Uint16(src))
	weight := int(int16(binary.BigEndian.Uint16(src[2:])))
	sign := binary.BigEndian.Uint16(src[4:])
	dscale := int(binary.BigEndian.Uint16(src[6:]))
	if len(src) != 8+2*ndigits {
		return dst, errLength
	}
	digits := src[8:]
	switch sign {
	case numericPos:
	case numericNeg:
		dst = append(dst, '-')
	case numericNaN:
		return append(dst, `"NaN"`...), nil
	case numericPInf:
		return append(dst, `"Infinity"`...), nil
	case numericNInf:
		return append(dst, `"-Infinity"`...), nil
	default:
		return dst, errNumeric
	}
	if dscale&^numericDscaleMask != 0 {
		return dst, errNumeric
	}
	for i := 0; i < ndigits; i++ {
		if binary.BigEndian.Uint16(digits[2*i:]) > 9999 {
			return dst, errNumeric
		}
	}
	digit := func(i int) uint16 {
		if i < 0 || i >= ndigits {
			return 0
		}
		return binary.BigEndian.Uint16(digits[2*i:])
	}
	d := 0
	if weight < 0 {
		d = weight + 1
		dst = append(dst, '0')
	} else {
		// PostgreSQL stores numerics without leading zero digits; should
		// some come anyway, they are skipped so the text stays a number.
		for d < weight && digit(d) == 0 {
			d++
		}
		// The first base-10000 digit loses its leading zeros, the others
		// print all four decimal digits.
		first := digit(d)
		switch {
		case first >= 1000:
			dst = append4(dst, first)
		case first >= 100:
			dst = append(dst, byte('0'+first/100), byte('0'+first/10%10), byte('0'+first%10))
		case first >= 10:
			dst = append(dst, byte('0'+first/10), byte('0'+first%10))
		default:
			dst = append(dst, byte('0'+first))
		}
		for d++; d <= weight; d++ {
			dst = append4(dst, digit(d))
		}
	}
	if dscale > 0 {
		dst = append(dst, '.')
		end := len(dst) + dscale
		for i := 0; i < dscale; i += 4 {
			dst = append4(dst, digit(d))
			d++
		}
		dst = dst[:end]
	}
	return dst, nil
}

// append4 appends a base-10000 digit as four decimal digits.
func append4(dst []byte, v uint16) []byte {
	return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
