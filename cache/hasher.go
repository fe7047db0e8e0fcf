package cache

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// nullLength marks an absent value in the hashed stream. No real length can equal it,
// so WriteNull never hashes like a Write of any value, the empty one included.
const nullLength = ^uint64(0)

// hasherBuf is the size of the Hasher's staging buffer: the route and a few short
// parameters fit, so a typical key is one call to xxhash.Sum64 instead of a streaming
// Digest.Write per length and value.
const hasherBuf = 128

// Hasher computes a cache key from a route index and a sequence of parameter values
// with xxhash, without allocating. Each value is preceded by its length, which makes
// the encoding injective: ("ab", "c") and ("a", "bc") hash differently, where a
// separator byte would fail for values that contain it. The key is the xxhash of
//
//	route (4 bytes LE) || for each value: length (8 bytes LE) || value bytes
//
// where WriteNull writes the length 2^64-1 and no bytes.
//
// A Hasher is reusable (Reset starts a new key) and is not safe for concurrent use;
// keep one per worker or request context. Call Reset before the first Write.
type Hasher struct {
	d       xxhash.Digest
	flushed bool // d holds a prefix of the stream
	n       int  // bytes of buf not yet written to d
	buf     [hasherBuf]byte
}

// Reset starts a new key for the route with index route.
func (h *Hasher) Reset(route uint32) {
	h.flushed = false
	binary.LittleEndian.PutUint32(h.buf[:], route)
	h.n = 4
}

// Write adds one parameter value to the key. It does not keep b.
func (h *Hasher) Write(b []byte) {
	h.writeLen(uint64(len(b)))
	if h.n+len(b) > len(h.buf) {
		h.flush()
		if len(b) > len(h.buf) {
			h.d.Write(b)
			return
		}
	}
	h.n += copy(h.buf[h.n:], b)
}

// WriteString adds one parameter value to the key; it hashes like Write([]byte(s))
// without converting.
func (h *Hasher) WriteString(s string) {
	h.writeLen(uint64(len(s)))
	if h.n+len(s) > len(h.buf) {
		h.flush()
		if len(s) > len(h.buf) {
			h.d.WriteString(s)
			return
		}
	}
	h.n += copy(h.buf[h.n:], s)
}

// WriteUint64 adds one integer parameter value to the key, hashing like Write of its
// 8 little-endian bytes.
func (h *Hasher) WriteUint64(v uint64) {
	h.writeLen(8)
	h.writeLen(v)
}

// WriteNull adds an absent parameter value to the key, distinct from every value
// including the empty one.
func (h *Hasher) WriteNull() {
	h.writeLen(nullLength)
}

// Sum returns the key of the route and values written since Reset. It does not
// change the state, so more values may follow.
func (h *Hasher) Sum() uint64 {
	if !h.flushed {
		return xxhash.Sum64(h.buf[:h.n])
	}
	d := h.d
	d.Write(h.buf[:h.n])
	return d.Sum64()
}

// writeLen stages 8 little-endian bytes.
func (h *Hasher) writeLen(v uint64) {
	if h.n+8 > len(h.buf) {
		h.flush()
	}
	binary.LittleEndian.PutUint64(h.buf[h.n:], v)
	h.n += 8
}

// flush moves the staged bytes into the streaming digest.
func (h *Hasher) flush() {
	if !h.flushed {
		h.d.Reset()
		h.flushed = true
	}
	h.d.Write(h.buf[:h.n])
	h.n = 0
}
