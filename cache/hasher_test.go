package cache

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestHasherDistinguishes(t *testing.T) {
	sum := func(route uint32, write func(h *Hasher)) uint64 {
		var h Hasher
		h.Reset(route)
		write(&h)
		return h.Sum()
	}
	f := func(name string, a, b func(h *Hasher)) {
		t.Helper()
		if ka, kb := sum(7, a), sum(7, b); ka == kb {
			t.Fatalf("%s: got equal keys %x; want different", name, ka)
		}
	}
	str := func(parts ...string) func(h *Hasher) {
		return func(h *Hasher) {
			for _, p := range parts {
				h.WriteString(p)
			}
		}
	}
	f(`("ab","c") vs ("a","bc")`, str("ab", "c"), str("a", "bc"))
	f(`("a\x00","b") vs ("a","\x00b")`, str("a\x00", "b"), str("a", "\x00b"))
	f(`("a","") vs ("a")`, str("a", ""), str("a"))
	f(`("") vs ()`, str(""), str())
	f(`null vs ""`, func(h *Hasher) { h.WriteNull() }, str(""))
	f(`1 vs 2`, str("1"), str("2"))
	f(`uint64 1 vs uint64 2`, func(h *Hasher) { h.WriteUint64(1) }, func(h *Hasher) { h.WriteUint64(2) })

	if sum(1, str("x")) == sum(2, str("x")) {
		t.Fatalf("routes 1 and 2 with the same value: got equal keys; want different")
	}
}

func TestHasherEquivalences(t *testing.T) {
	var a, b Hasher
	f := func(name string, wa, wb func()) {
		t.Helper()
		a.Reset(3)
		b.Reset(3)
		wa()
		wb()
		if ka, kb := a.Sum(), b.Sum(); ka != kb {
			t.Fatalf("%s: got %x and %x; want equal keys", name, ka, kb)
		}
	}
	f("Write vs WriteString", func() { a.Write([]byte("abc")) }, func() { b.WriteString("abc") })
	f("WriteUint64 vs Write of its bytes",
		func() { a.WriteUint64(0x0102030405060708) },
		func() { b.Write([]byte{8, 7, 6, 5, 4, 3, 2, 1}) })
	// A reused Hasher gives the key a fresh one gives.
	a.Reset(9)
	a.WriteString("left over")
	f("reuse after Reset", func() { a.WriteString("v") }, func() { b.WriteString("v") })
	if got, want := keyOf(3, "v"), a.Sum(); got != want {
		t.Fatalf("fresh Hasher: got %x; want %x", got, want)
	}
}

// TestHasherReference checks the Hasher against the documented encoding, hashed in one
// piece, for values of every size around the staging buffer's.
func TestHasherReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Hasher
	for round := range 2000 {
		route := rng.Uint32()
		ref := binary.LittleEndian.AppendUint32(nil, route)
		h.Reset(route)
		for range rng.IntN(8) {
			switch kind := rng.IntN(4); kind {
			case 0, 1:
				v := make([]byte, rng.IntN(3*hasherBuf))
				for i := range v {
					v[i] = byte(rng.Uint32())
				}
				ref = binary.LittleEndian.AppendUint64(ref, uint64(len(v)))
				ref = append(ref, v...)
				if kind == 0 {
					h.Write(v)
				} else {
					h.WriteString(string(v))
				}
			case 2:
				u := rng.Uint64()
				ref = binary.LittleEndian.AppendUint64(ref, 8)
				ref = binary.LittleEndian.AppendUint64(ref, u)
				h.WriteUint64(u)
			case 3:
				ref = binary.LittleEndian.AppendUint64(ref, nullLength)
				h.WriteNull()
			}
			if got, want := h.Sum(), xxhash.Sum64(ref); got != want {
				t.Fatalf("round %d, %d bytes: got %x; want %x", round, len(ref), got, want)
			}
		}
	}
}
