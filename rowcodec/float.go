package rowcodec

import (
	"encoding/binary"
	"math"
	"strconv"
)

// appendFloat4 decodes float4send (src/backend/utils/adt/float.c): an IEEE
// 754 single, big-endian.
func appendFloat4(dst, src []byte) ([]byte, error) {
	if len(src) != 4 {
		return dst, errLength
	}
	return appendFloat(dst, float64(math.Float32frombits(binary.BigEndian.Uint32(src))), 32), nil
}

// appendFloat8 decodes float8send: an IEEE 754 double, big-endian.
func appendFloat8(dst, src []byte) ([]byte, error) {
	if len(src) != 8 {
		return dst, errLength
	}
	return appendFloat(dst, math.Float64frombits(binary.BigEndian.Uint64(src)), 64), nil
}

// appendFloat prints f as float4out/float8out do with the default
// extra_float_digits = 1: the shortest digits that read back exactly (Ryū,
// src/common/d2s.c and f2s.c), in fixed notation when the decimal exponent
// is in [-4, 15) for float8 or [-4, 6) for float4, else as d.ddde±XX.
// strconv gives the same shortest digits; only the layout is PostgreSQL's.
// NaN and the infinities are not JSON numbers, so row_to_json quotes them.
func appendFloat(dst []byte, f float64, bitSize int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, '-', '0')
		}
		return append(dst, '0')
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, bitSize) // [-]d[.ddd]e±XX
	if b[0] == '-' {
		dst = append(dst, '-')
		b = b[1:]
	}
	e := 0
	for i := len(b) - 1; i > 0; i-- {
		if b[i] == 'e' {
			e = i
			break
		}
	}
	exp := 0
	for _, c := range b[e+2:] {
		exp = exp*10 + int(c-'0')
	}
	if b[e+1] == '-' {
		exp = -exp
	}
	var digits [24]byte
	nd := 0
	for _, c := range b[:e] {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	d := digits[:nd]
	maxFixed := 15
	if bitSize == 32 {
		maxFixed = 6
	}
	if exp < -4 || exp >= maxFixed {
		dst = append(dst, d[0])
		if nd > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if exp < 0 {
			dst = append(dst, '-')
			exp = -exp
		} else {
			dst = append(dst, '+')
		}
		if exp < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(exp), 10)
	}
	if exp < 0 {
		dst = append(dst, '0', '.')
		for i := -1; i > exp; i-- {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	}
	if nd <= exp+1 {
		dst = append(dst, d...)
		for i := nd; i <= exp; i++ {
			dst = append(dst, '0')
		}
		return dst
	}
	dst = append(dst, d[:exp+1]...)
	dst = append(dst, '.')
	return append(dst, d[exp+1:]...)
}
