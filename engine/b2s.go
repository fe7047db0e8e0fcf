package engine

import "unsafe"

// b2s views b as a string without copying. Only for bytes that are neither
// changed nor kept while the string is in use (a parse of a header value,
// a map lookup).
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
