package rowcodec

import "testing"

func TestBytea(t *testing.T) {
	checkDecode(t, appendBytea, nil, `"\\x"`)
	checkDecode(t, appendBytea, []byte{0, 1, 0xfe, 0xff, '"'}, `"\\x0001feff22"`)
}
