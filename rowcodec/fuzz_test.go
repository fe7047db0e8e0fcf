package rowcodec

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"
)

// checkFuzz asserts the contract of every decoder: valid JSON and valid
// UTF-8, or an error wrapping ErrMalformed or ErrUnsupported.
func checkFuzz(t *testing.T, in []byte, out []byte, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("input %x: error %v wraps neither ErrMalformed nor ErrUnsupported", in, err)
		}
		return
	}
	if !json.Valid(out) || !utf8.Valid(out) {
		if len(out) > 200 {
			out = append(out[:200:200], "…"...)
		}
		t.Fatalf("input %x: invalid JSON or UTF-8 %q", in, out)
	}
}

// fuzzCodec runs the built-in codec of oid over data in the given session.
func fuzzCodec(t *testing.T, oid uint32, e *env, data []byte) {
	t.Helper()
	out, err := builtinCodecs[oid].encode(e, nil, data, 0)
	checkFuzz(t, data, out, err)
}

// fuzzEnv picks a session from a byte: zone and IntervalStyle.
func fuzzEnv(sel byte) *env {
	zones := []string{"UTC", "Asia/Kolkata", "America/St_Johns", "Africa/Monrovia"}
	loc, err := time.LoadLocation(zones[int(sel)%len(zones)])
	if err != nil {
		loc = nil
	}
	return &env{loc: loc, style: intervalStyle(sel / 4 % 4)}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\x1f\x7f", "é😀", "\xff\xfe", "\xed\xa0\x80", "a\u2028b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		out := AppendString(nil, s)
		checkFuzz(t, s, out, nil)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s does not parse: %v", s, out, err)
		}
		// Each invalid byte becomes one U+FFFD, everything else survives.
		want := make([]rune, 0, len(s))
		for _, r := range string(s) {
			want = append(want, r)
		}
		if back != string(want) {
			t.Fatalf("AppendString(%q) parses back to %q; want %q", s, back, string(want))
		}
	})
}

func FuzzInt(f *testing.F) {
	f.Add(byte(0), []byte{0x80, 0})
	f.Add(byte(1), []byte{0xff, 0xff, 0xff, 0xff})
	f.Add(byte(2), []byte{0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add(byte(3), []byte{1})
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		oids := []uint32{21, 23, 20, 26, 28, 29, 5069, 16}
		fuzzCodec(t, oids[int(sel)%len(oids)], &env{}, data)
	})
}

func FuzzFloat(f *testing.F) {
	f.Add([]byte{0x3f, 0xc0, 0, 0})
	f.Add([]byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		oid := uint32(700)
		if len(data) == 8 {
			oid = 701
		}
		out, err := builtinCodecs[oid].encode(&env{}, nil, data, 0)
		checkFuzz(t, data, out, err)
		if err != nil || out[0] == '"' {
			return
		}
		// Numbers read back to the same value.
		v, perr := strconv.ParseFloat(string(out), 64)
		var want float64
		if oid == 700 {
			want = float64(math.Float32frombits(uint32(data[0])<<24 | uint32(data[1])<<16 | uint32(data[2])<<8 | uint32(data[3])))
			v = float64(float32(v))
		} else {
			want = math.Float64frombits(uint64(data[0])<<56 | uint64(data[1])<<48 | uint64(data[2])<<40 | uint64(data[3])<<32 |
				uint64(data[4])<<24 | uint64(data[5])<<16 | uint64(data[6])<<8 | uint64(data[7]))
		}
		if perr != nil || v != want {
			t.Fatalf("float %x: printed %s, reads back as %v (%v); want %v", data, out, v, perr, want)
		}
	})
}

func FuzzNumeric(f *testing.F) {
	f.Add(numericBytes(1, numericPos, 4, 1, 2345, 6789))
	f.Add(numericBytes(-3, numericNeg, 20, 9999))
	f.Add(numericBytes(0, numericNaN, 0))
	f.Add(numericBytes(0, numericPInf, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := appendNumeric(nil, data)
		checkFuzz(t, data, out, err)
		if err == nil && out[0] != '"' && !validNumber(out) {
			t.Fatalf("numeric %x: got %s; want a JSON number", data, out)
		}
	})
}

func FuzzTime(f *testing.F) {
	f.Add(byte(0), be(int32(0)))
	f.Add(byte(1), be(int64(usecsPerDay)))
	f.Add(byte(2), be(int64(0), int32(-19800)))
	f.Add(byte(3), be(int64(-1)))
	f.Add(byte(4+4), be(int64(math.MaxInt64-1)))
	f.Add(byte(4+8), be(int64(math.MinInt64+1)))
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		oids := []uint32{1082, 1083, 1266, 1114, 1184}
		fuzzCodec(t, oids[int(sel)%len(oids)], fuzzEnv(sel/5), data)
	})
}

func FuzzInterval(f *testing.F) {
	f.Add(byte(0), intervalBytes(14, 3, 4*usecsPerHour))
	f.Add(byte(1), intervalBytes(math.MinInt32, math.MinInt32, math.MinInt64))
	f.Add(byte(2), intervalBytes(-1, 1, -1))
	f.Add(byte(3), intervalBytes(0, 0, 0))
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		fuzzCodec(t, 1186, &env{style: intervalStyle(sel % 4)}, data)
	})
}

func FuzzNet(f *testing.F) {
	f.Add(byte(0), inetBytes("192.168.0.1", 24, false))
	f.Add(byte(1), inetBytes("2001:db8::1", 64, true))
	f.Add(byte(2), []byte{8, 0, 0x2b, 1, 2, 3})
	f.Add(byte(3), []byte{8, 0, 0x2b, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		oids := []uint32{869, 650, 829, 774}
		fuzzCodec(t, oids[int(sel)%len(oids)], &env{}, data)
	})
}

func FuzzUUID(f *testing.F) {
	f.Add(make([]byte, 16))
	f.Add([]byte("0123456789abcdef"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, oid := range []uint32{2950, 17, 790, 18} { // uuid, bytea, money, "char"
			fuzzCodec(t, oid, &env{}, data)
		}
	})
}

func FuzzArray(f *testing.F) {
	i4 := be(int32(1))
	f.Add(byte(0), arrayBytes(23, [][2]int32{{2, 1}, {2, 1}}, i4, nil, i4, i4))
	f.Add(byte(1), arrayBytes(25, [][2]int32{{2, 0}}, []byte("a"), nil))
	f.Add(byte(2), arrayBytes(1700, [][2]int32{{1, 1}}, numericBytes(0, numericPos, 2, 5)))
	f.Add(byte(3), arrayBytes(2249, [][2]int32{{1, 1}}, recordBytes([]uint32{23}, i4)))
	f.Add(byte(4), arrayBytes(1184, nil))
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		oids := []uint32{1007, 1009, 1231, 2287, 1185, 3807}
		fuzzCodec(t, oids[int(sel)%len(oids)], fuzzEnv(sel), data)
	})
}

func FuzzRecord(f *testing.F) {
	f.Add(recordBytes([]uint32{23, 25, 16}, be(int32(5)), []byte("x"), nil))
	f.Add(recordBytes([]uint32{2249}, recordBytes([]uint32{1186}, intervalBytes(1, 2, 3))))
	f.Add(recordBytes([]uint32{1007}, arrayBytes(23, [][2]int32{{1, 1}}, be(int32(1)))))
	f.Add(recordBytes(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzCodec(t, 2249, fuzzEnv(byte(len(data))), data)
	})
}

func FuzzJSONB(f *testing.F) {
	f.Add(byte(0), []byte(`{"a": [1, 2.5, "x", null]}`))
	f.Add(byte(1), []byte("\x01"+`[true, {"b": "\u00e9"}]`))
	f.Add(byte(2), []byte("\x01$.a[*]"))
	f.Add(byte(0), []byte(`[[[[`))
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		oids := []uint32{114, 3802, 4072}
		fuzzCodec(t, oids[int(sel)%len(oids)], &env{}, data)
		// The validator agrees with encoding/json on UTF-8 input (short
		// enough to stay under encoding/json's own nesting limit).
		if len(data) < 10000 && utf8.Valid(data) && validJSON(data) != json.Valid(data) {
			t.Fatalf("validJSON(%q) = %v; json.Valid says %v", data, validJSON(data), json.Valid(data))
		}
	})
}
