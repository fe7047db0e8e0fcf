package script

// json.encode (Lua values to JSON text), and Go values (a JWT's claims) to
// Lua for req.jwt.

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
	lua "github.com/yuin/gopher-lua"
)

// ---- encode ----

// encode is json.encode(v).
func (j *jsonLib) encode(L *lua.LState) int {
	buf, err := j.appendValue(L, j.buf[:0], L.Get(1), 0)
	if err != nil {
		L.RaiseError("json.encode: %s", err.Error())
	}
	L.Push(lua.LString(buf))
	if cap(buf) <= maxKeptBuffer {
		j.buf = buf[:0]
	}
	return 1
}

func (j *jsonLib) appendValue(L *lua.LState, dst []byte, v lua.LValue, depth int) ([]byte, error) {
	if len(dst) > j.st.maxString {
		j.st.tripString(L, "json.encode", len(dst))
	}
	switch v := v.(type) {
	case *lua.LNilType:
		return append(dst, "null"...), nil
	case lua.LBool:
		return strconv.AppendBool(dst, bool(v)), nil
	case lua.LNumber:
		return appendNumber(dst, float64(v))
	case lua.LString:
		return appendString(dst, string(v)), nil
	case *lua.LUserData:
		if v == j.null {
			return append(dst, "null"...), nil
		}
		if s, ok := v.Value.(string); ok && v.Metatable == j.numMT {
			return append(dst, s...), nil
		}
		return dst, errors.New("cannot encode a userdata")
	case *lua.LTable:
		if depth >= maxJSONDepth {
			return dst, errors.New("table nested deeper than 512 (or cyclic)")
		}
		if n, ok := j.arrayLen(v); ok {
			dst = append(dst, '[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					dst = append(dst, ',')
				}
				var err error
				if dst, err = j.appendValue(L, dst, v.RawGetInt(i), depth+1); err != nil {
					return dst, err
				}
			}
			return append(dst, ']'), nil
		}
		dst = append(dst, '{')
		first := true
		var err error
		for k, val := v.Next(lua.LNil); k != lua.LNil; k, val = v.Next(k) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			switch k := k.(type) {
			case lua.LString:
				dst = appendString(dst, string(k))
			case lua.LNumber:
				dst = append(dst, '"')
				if dst, err = appendNumber(dst, float64(k)); err != nil {
					return dst, err
				}
				dst = append(dst, '"')
			default:
				return dst, errors.New("cannot encode a table key of type " + k.Type().String())
			}
			dst = append(dst, ':')
			if dst, err = j.appendValue(L, dst, val, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return dst, errors.New("cannot encode a " + v.Type().String())
}

// arrayLen reports whether t is encoded as an array, and its length.
func (j *jsonLib) arrayLen(t *lua.LTable) (int, bool) {
	n := t.MaxN()
	if t.Metatable == j.arrayMT {
		return n, true
	}
	if n == 0 {
		return 0, false
	}
	// An array's keys are exactly 1..n: any other key makes it an object.
	count := 0
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		count++
		if count > n {
			return 0, false
		}
		if f, ok := k.(lua.LNumber); !ok || f < 1 || float64(f) != math.Trunc(float64(f)) {
			return 0, false
		}
	}
	return n, count == n
}

// appendNumber writes f as JSON.
func appendNumber(dst []byte, f float64) ([]byte, error) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return dst, errors.New("cannot encode NaN or infinity")
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.AppendInt(dst, int64(f), 10), nil
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD. The fast path
// copies runs that need nothing.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// goToLua converts a JWT claim (as encoding/json or goccy decode into
// any) into a Lua value, like json.decode would.
func (j *jsonLib) goToLua(L *lua.LState, v any, depth int) lua.LValue {
	if depth > maxJSONDepth {
		return lua.LNil
	}
	switch v := v.(type) {
	case nil:
		return j.null
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case float32:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case int64:
		return j.number(L, strconv.FormatInt(v, 10))
	case gojson.Number:
		return j.number(L, string(v))
	case interface{ String() string }:
		return lua.LString(v.String())
	case []any:
		t := L.CreateTable(len(v), 0)
		t.Metatable = j.arrayMT
		for i, e := range v {
			t.RawSetInt(i+1, j.goToLua(L, e, depth+1))
		}
		return t
	case []string:
		t := L.CreateTable(len(v), 0)
		t.Metatable = j.arrayMT
		for i, e := range v {
			t.RawSetInt(i+1, lua.LString(e))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(v))
		for k, e := range v {
			t.RawSetString(k, j.goToLua(L, e, depth+1))
		}
		return t
	}
	return lua.LNil
}
