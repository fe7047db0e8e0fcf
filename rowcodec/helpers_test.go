package rowcodec

import (
	"encoding/binary"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// be builds big-endian wire bytes from a list of fixed-size integers
// (int8/uint8 are one byte, int16/uint16 two, and so on) and byte slices.
func be(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case uint8:
			b = append(b, v)
		case int8:
			b = append(b, byte(v))
		case uint16:
			b = binary.BigEndian.AppendUint16(b, v)
		case int16:
			b = binary.BigEndian.AppendUint16(b, uint16(v))
		case uint32:
			b = binary.BigEndian.AppendUint32(b, v)
		case int32:
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		case uint64:
			b = binary.BigEndian.AppendUint64(b, v)
		case int64:
			b = binary.BigEndian.AppendUint64(b, uint64(v))
		case []byte:
			b = append(b, v...)
		case string:
			b = append(b, v...)
		default:
			panic("be: unsupported part")
		}
	}
	return b
}

// decoder is the shape of the scalar decoders.
type decoder func(dst, src []byte) ([]byte, error)

// checkDecode asserts that dec turns src into want, also when appending
// after existing bytes, and that the output is valid JSON and UTF-8.
func checkDecode(t *testing.T, dec decoder, src []byte, want string) {
	t.Helper()
	got, err := dec(nil, src)
	if err != nil {
		t.Errorf("decode(%x): unexpected error %v; want %s", src, err, want)
		return
	}
	if string(got) != want {
		t.Errorf("decode(%x): got %s; want %s", src, got, want)
	}
	if !json.Valid(got) || !utf8.Valid(got) {
		t.Errorf("decode(%x): got invalid JSON or UTF-8 %q", src, got)
	}
	prefixed, err := dec([]byte("xy"), src)
	if err != nil || string(prefixed) != "xy"+want {
		t.Errorf("decode(%x) after a prefix: got %q, %v; want %q", src, prefixed, err, "xy"+want)
	}
}

// checkDecodeError asserts that dec rejects src with an ErrMalformed error.
func checkDecodeError(t *testing.T, dec decoder, src []byte) {
	t.Helper()
	if got, err := dec(nil, src); err == nil {
		t.Errorf("decode(%x): got %s, no error; want an error", src, got)
	}
}
