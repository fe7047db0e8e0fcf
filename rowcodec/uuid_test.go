package rowcodec

import "testing"

func TestUUID(t *testing.T) {
	checkDecode(t, appendUUID, []byte("\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11"),
		`"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`)
	checkDecode(t, appendUUID, make([]byte, 16), `"00000000-0000-0000-0000-000000000000"`)
	checkDecodeError(t, appendUUID, make([]byte, 15))
}
