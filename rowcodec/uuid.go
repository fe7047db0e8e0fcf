package rowcodec

// appendUUID decodes uuid_send (src/backend/utils/adt/uuid.c): the 16 raw
// bytes. It prints uuid_out's lower-case 8-4-4-4-12 form as a string.
func appendUUID(dst, src []byte) ([]byte, error) {
	if len(src) != 16 {
		return dst, errLength
	}
	dst = append(dst, '"')
	for i, b := range src {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[b>>4], hex[b&0xf])
	}
	return append(dst, '"'), nil
}
