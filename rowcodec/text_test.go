package rowcodec

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got := AppendString(nil, []byte(in))
		if string(got) != want {
			t.Errorf("AppendString(%q): got %s; want %s", in, got, want)
		}
		if !json.Valid(got) || !utf8.Valid(got) {
			t.Errorf("AppendString(%q): got invalid JSON or UTF-8 %q", in, got)
		}
	}
	f("", `""`)
	f("plain", `"plain"`)
	f(`say "hi"`, `"say \"hi\""`)
	f(`back\slash`, `"back\\slash"`)
	f("/", `"/"`) // escape_json leaves the solidus alone
	f("\b\f\n\r\t", `"\b\f\n\r\t"`)
	f("\x00\x01\x1f", `"\u0000\u0001\u001f"`)
	f("\x7f", "\"\x7f\"")
	f("é😀𝄞", `"é😀𝄞"`)
	f("\u2028\u2029", "\"\u2028\u2029\"")
	f("bad \xff byte", "\"bad \ufffd byte\"")
	f("cut \xe2\x82", "\"cut \ufffd\ufffd\"")
	f("\xed\xa0\x80", "\"\ufffd\ufffd\ufffd\"") // a UTF-16 surrogate is not UTF-8
	long := strings.Repeat("abcdefgh", 40)
	f(long+`"`+long, `"`+long+`\"`+long+`"`)
	f(long+"é", `"`+long+`é"`)
}

// TestPlainPrefix checks the word-at-a-time scan against a byte loop for a
// special byte at every position and of every kind.
func TestPlainPrefix(t *testing.T) {
	for c := range 256 {
		if c >= 0x20 && c < 0x80 && c != '"' && c != '\\' {
			continue
		}
		for n := 0; n < 80; n++ {
			s := append([]byte(strings.Repeat("x", n)), byte(c), 'y', 'y')
			if got := plainPrefix(s); got != n {
				t.Errorf("plainPrefix with %#x at %d: got %d; want %d", c, n, got, n)
			}
		}
	}
	for c := byte(0x20); c < 0x80; c++ {
		if c == '"' || c == '\\' {
			continue
		}
		s := []byte(strings.Repeat(string(c), 70))
		if got := plainPrefix(s); got != len(s) {
			t.Errorf("plainPrefix of %q×70: got %d; want %d", c, got, len(s))
		}
	}
}

func TestChar(t *testing.T) {
	f := func(b byte, want string) {
		t.Helper()
		checkDecode(t, appendChar, []byte{b}, want)
	}
	f('a', `"a"`)
	f('"', `"\""`)
	f(0, `""`)
	f(0xc3, `"\\303"`)
	f(0x80, `"\\200"`)
	checkDecodeError(t, appendChar, nil)
	checkDecodeError(t, appendChar, []byte("ab"))
}
