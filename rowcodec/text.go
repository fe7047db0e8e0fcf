package rowcodec

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// hex is the lower-case digit table shared by the \u00XX escapes, bytea and
// uuid output.
const hex = "0123456789abcdef"

// SWAR masks for AppendString's fast path: eight bytes are tested at once for
// "needs attention" (a control character, '"', '\\' or a non-ASCII byte).
const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// plain returns a word whose high bit is set in exactly the bytes of w
// that a JSON string can hold verbatim: 0x20..0x7f except '"' and '\\'.
// The additions cannot carry from one byte into the next (every byte of x
// is below 0x80 and every addend below 0x80), so each byte is judged alone.
func plain(w uint64) uint64 {
	x := w & (0x7f * lsb8)
	ge := x + 0x60*lsb8               // high bit iff x >= 0x20
	nq := (x ^ '"'*lsb8) + 0x7f*lsb8  // high bit iff x != '"'
	nb := (x ^ '\\'*lsb8) + 0x7f*lsb8 // high bit iff x != '\\'
	return ge & nq & nb &^ w & msb8   // &^ w: bytes >= 0x80 are not plain
}

// plainPrefix returns how many leading bytes of s can be copied verbatim
// into a JSON string. Blocks of 32 bytes are tested with one branch; the
// block that has a special byte is then searched word by word.
func plainPrefix(s []byte) int {
	i := 0
	for ; i+32 <= len(s); i += 32 {
		b := s[i : i+32 : i+32]
		m := plain(binary.LittleEndian.Uint64(b)) &
			plain(binary.LittleEndian.Uint64(b[8:])) &
			plain(binary.LittleEndian.Uint64(b[16:])) &
			plain(binary.LittleEndian.Uint64(b[24:]))
		if m != msb8 {
			break
		}
	}
	for ; i+8 <= len(s); i += 8 {
		if m := plain(binary.LittleEndian.Uint64(s[i:])) ^ msb8; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	if i == len(s) {
		return i
	}
	if len(s) >= 8 {
		// The last word, overlapping bytes already known to be plain.
		j := len(s) - 8
		if m := plain(binary.LittleEndian.Uint64(s[j:])) ^ msb8; m != 0 {
			return j + bits.TrailingZeros64(m)/8
		}
		return len(s)
	}
	for ; i < len(s); i++ {
		if !plainByte[s[i]] {
			return i
		}
	}
	return i
}

// plainByte tells the bytes a JSON string holds verbatim, for strings
// shorter than a word.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s to dst as a JSON string, quotes included, escaping
// as PostgreSQL's escape_json does (src/backend/utils/adt/json.c): \b \f \n
// \r \t \" \\ by name, other bytes below 0x20 as \u00XX, everything else
// verbatim. Invalid UTF-8 (which a UTF8 database never sends, but a
// SQL_ASCII one may) is replaced by U+FFFD, so the output is always valid
// JSON and valid UTF-8.
//
// Fast path first: a run of plain ASCII is found eight bytes at a time and
// copied in one append; only the rare bytes take the slow path.
func AppendString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	n := plainPrefix(s)
	dst = append(dst, s[:n]...)
	if n < len(s) {
		dst = appendStringSlow(dst, s[n:])
	}
	return append(dst, '"')
}

// appendStringSlow escapes s, whose first byte needs attention.
func appendStringSlow(dst []byte, s []byte) []byte {
	for len(s) > 0 {
		c := s[0]
		switch {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s)
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\ufffd"...)
			} else {
				dst = append(dst, s[:size]...)
			}
			s = s[size:]
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
			s = s[1:]
		case c < 0x20:
			dst = appendControl(dst, c)
			s = s[1:]
		}
		n := plainPrefix(s)
		dst = append(dst, s[:n]...)
		s = s[n:]
	}
	return dst
}

// appendControl appends the escape of a byte below 0x20.
func appendControl(dst []byte, c byte) []byte {
	switch c {
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}

// appendChar appends a "char" value (charsend in src/backend/utils/adt/char.c
// sends one byte) the way charout prints it: NUL as the empty string, a
// byte with the high bit set as a backslash and three octal digits
// (PostgreSQL 15 and later), anything else as itself.
func appendChar(dst, src []byte) ([]byte, error) {
	if len(src) != 1 {
		return dst, errLength
	}
	c := src[0]
	switch {
	case c == 0:
		return append(dst, '"', '"'), nil
	case c >= 0x80:
		return append(dst, '"', '\\', '\\', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7, '"'), nil
	}
	var one [1]byte
	one[0] = c
	return AppendString(dst, one[:]), nil
}
