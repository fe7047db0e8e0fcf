package rowcodec

import (
	"encoding/binary"
	"strconv"
)

// appendInt2 decodes int2send (src/backend/utils/adt/int.c): two bytes,
// big-endian, signed. JSON numbers, as row_to_json prints them.
func appendInt2(dst, src []byte) ([]byte, error) {
	if len(src) != 2 {
		return dst, errLength
	}
	return strconv.AppendInt(dst, int64(int16(binary.BigEndian.Uint16(src))), 10), nil
}

// appendInt4 decodes int4send: four bytes, big-endian, signed.
func appendInt4(dst, src []byte) ([]byte, error) {
	if len(src) != 4 {
		return dst, errLength
	}
	return strconv.AppendInt(dst, int64(int32(binary.BigEndian.Uint32(src))), 10), nil
}

// appendInt8 decodes int8send (src/backend/utils/adt/int8.c): eight bytes,
// big-endian, signed.
func appendInt8(dst, src []byte) ([]byte, error) {
	if len(src) != 8 {
		return dst, errLength
	}
	return strconv.AppendInt(dst, int64(binary.BigEndian.Uint64(src)), 10), nil
}

// appendUint4String decodes oidsend/xidsend/cidsend: four bytes, unsigned.
// row_to_json prints these types as strings (they are not in its numeric
// category), so the digits are quoted.
func appendUint4String(dst, src []byte) ([]byte, error) {
	if len(src) != 4 {
		return dst, errLength
	}
	dst = append(dst, '"')
	dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint32(src)), 10)
	return append(dst, '"'), nil
}

// appendUint8String decodes xid8send: eight bytes, unsigned, quoted.
func appendUint8String(dst, src []byte) ([]byte, error) {
	if len(src) != 8 {
		return dst, errLength
	}
	dst = append(dst, '"')
	dst = strconv.AppendUint(dst, binary.BigEndian.Uint64(src), 10)
	return append(dst, '"'), nil
}

// appendBool decodes boolsend (src/backend/utils/adt/bool.c): one byte,
// zero for false.
func appendBool(dst, src []byte) ([]byte, error) {
	if len(src) != 1 {
		return dst, errLength
	}
	if src[0] != 0 {
		return append(dst, "true"...), nil
	}
	return append(dst, "false"...), nil
}
