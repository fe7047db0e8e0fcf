package rowcodec

// appendBytea decodes byteasend (src/backend/utils/adt/varlena.c): the raw
// bytes. It prints byteaout's hex format (bytea_output = 'hex', the default
// since PostgreSQL 9.0) as a JSON string: "\\x" then two lower-case hex
// digits per byte. The backslash itself is escaped in JSON.
func appendBytea(dst, src []byte) ([]byte, error) {
	dst = append(dst, '"', '\\', '\\', 'x')
	for _, b := range src {
		dst = append(dst, hex[b>>4], hex[b&0xf])
	}
	return append(dst, '"'), nil
}
