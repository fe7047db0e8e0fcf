package rowcodec

import "encoding/binary"

// maxArrayDims is MAXDIM of src/include/utils/array.h.
const maxArrayDims = 6

// appendArray decodes array_send (src/backend/utils/adt/arrayfuncs.c):
// int32 ndim, int32 has-nulls flag, uint32 element type, ndim pairs of
// int32 (length, lower bound), then each element as int32 length (-1 for
// NULL) and bytes, in row-major order. It prints array_to_json's shape:
// nested JSON arrays per dimension, lower bounds dropped, NULL as null.
func appendArray(e *env, c *codec, dst, src []byte, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return dst, errDepth
	}
	if len(src) < 12 {
		return dst, errShort
	}
	ndim := int(int32(binary.BigEndian.Uint32(src)))
	flags := binary.BigEndian.Uint32(src[4:])
	elemOID := binary.BigEndian.Uint32(src[8:])
	if ndim < 0 || ndim > maxArrayDims || flags > 1 {
		return dst, errArray
	}
	if len(src) < 12+8*ndim {
		return dst, errShort
	}
	p := src[12+8*ndim:]
	// stride[d] is how many elements one step in dimension d covers.
	var stride [maxArrayDims + 1]int
	stride[ndim] = 1
	for d := ndim - 1; d >= 0; d-- {
		n := int(int32(binary.BigEndian.Uint32(src[12+8*d:])))
		// Every element takes at least four bytes: bound the count
		// before multiplying, so it can neither overflow nor spin.
		if n < 0 || n > len(p)/4+1 || stride[d+1]*n > len(p)/4 {
			return dst, errArray
		}
		stride[d] = stride[d+1] * n
	}
	total := stride[0]
	if ndim == 0 || total == 0 {
		// PostgreSQL sends every empty array with ndim 0.
		if len(p) != 0 {
			return dst, errTrailing
		}
		return append(dst, '[', ']'), nil
	}
	ec := c.elem
	if ec == nil || elemOID != c.elemOID {
		if ec = e.resolve(elemOID); ec == nil {
			return dst, errUnknownID
		}
	}
	for d := 0; d < ndim; d++ {
		dst = append(dst, '[')
	}
	var err error
	for n := 0; n < total; n++ {
		if n > 0 {
			// Close and reopen the inner dimensions this element starts.
			closed := 0
			for d := ndim - 1; d > 0 && n%stride[d] == 0; d-- {
				dst = append(dst, ']')
				closed++
			}
			dst = append(dst, ',')
			for ; closed > 0; closed-- {
				dst = append(dst, '[')
			}
		}
		if len(p) < 4 {
			return dst, errShort
		}
		l := int32(binary.BigEndian.Uint32(p))
		p = p[4:]
		if l == -1 {
			dst = append(dst, "null"...)
			continue
		}
		if l < 0 || int(l) > len(p) {
			return dst, errShort
		}
		if dst, err = ec.encode(e, dst, p[:l], depth+1); err != nil {
			return dst, err
		}
		p = p[l:]
	}
	if len(p) != 0 {
		return dst, errTrailing
	}
	for d := 0; d < ndim; d++ {
		dst = append(dst, ']')
	}
	return dst, nil
}
