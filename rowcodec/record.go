package rowcodec

import (
	"encoding/binary"
	"strconv"
)

// appendRecord decodes record_send (src/backend/utils/adt/rowtypes.c):
// int32 number of (non-dropped) columns, then per column uint32 type OID,
// int32 length (-1 for NULL) and bytes. It prints composite_to_json's
// object: a known composite type's attribute names as keys, and f1, f2, …
// for an anonymous record, as PostgreSQL names a ROW()'s columns. Each
// value is decoded by the type its header names, so a field whose type
// changed since the plan was built is still decoded right.
func appendRecord(e *env, c *codec, dst, src []byte, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return dst, errDepth
	}
	if len(src) < 4 {
		return dst, errShort
	}
	n := int(int32(binary.BigEndian.Uint32(src)))
	p := src[4:]
	if n < 0 || n > len(p)/8 {
		return dst, errRecord
	}
	if c.kind == kComposite && n != len(c.fields) {
		return dst, errRecord
	}
	dst = append(dst, '{')
	var err error
	for i := 0; i < n; i++ {
		if len(p) < 8 {
			return dst, errShort
		}
		oid := binary.BigEndian.Uint32(p)
		l := int32(binary.BigEndian.Uint32(p[4:]))
		p = p[8:]
		var fc *codec
		if c.kind == kComposite {
			f := &c.fields[i]
			dst = append(dst, f.key...)
			if oid == f.oid {
				fc = f.codec
			}
		} else {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"', 'f')
			dst = strconv.AppendInt(dst, int64(i+1), 10)
			dst = append(dst, '"', ':')
		}
		if l == -1 {
			dst = append(dst, "null"...)
			continue
		}
		if l < 0 || int(l) > len(p) {
			return dst, errShort
		}
		if fc == nil {
			if fc = e.resolve(oid); fc == nil {
				return dst, errUnknownID
			}
		}
		if dst, err = fc.encode(e, dst, p[:l], depth+1); err != nil {
			return dst, err
		}
		p = p[l:]
	}
	if len(p) != 0 {
		return dst, errTrailing
	}
	return append(dst, '}'), nil
}
