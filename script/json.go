package script

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"

	gojson "github.com/goccy/go-json"
	lua "github.com/yuin/gopher-lua"
)

// maxJSONDepth bounds the nesting of json.encode and json.decode (and of
// JWT claims): deeper input is refused, so a cyclic table or a body of a
// million '[' cannot exhaust the Go stack or loop.
const maxJSONDepth = 512

// maxSafeInteger is 2^53: every integer up to it in magnitude is exact in
// a float64, Lua 5.1's only number type.
const maxSafeInteger = 1 << 53

// maxExactDigits is how many significant decimal digits a float64 always
// keeps (DBL_DIG).
const maxExactDigits = 15

// The json module (DESIGN §10), for bodies of SQL routes:
//
//   - json.decode(s) returns the value of the JSON text s: objects become
//     tables with string keys, arrays become sequences 1..n marked as
//     arrays (so [] stays [] when encoded again), null becomes json.null
//     (a sentinel: a nil could not be stored in a table), strings,
//     booleans and numbers their Lua values. A number is a Lua number
//     (a float64) when that is exact: an integer of at most 2^53 in
//     magnitude, or a decimal of at most 15 significant digits. Bigger
//     integers (bigint ids) and longer decimals (numeric) become a "json
//     number": a userdata that json.encode writes back verbatim,
//     tostring() and .. give its digits, comparisons and arithmetic work
//     on its float64 approximation. Key order is kept (gopher-lua tables
//     iterate in insertion order), so a transformed body keeps its
//     field order. Invalid JSON, trailing data or nesting deeper than 512
//     raise an error.
//   - json.encode(v) returns JSON text. A table is an array when it is
//     marked as one (json.decode, json.array) or when its keys are exactly
//     1..n with n ≥ 1; otherwise an object, whose keys must be strings or
//     numbers (written as strings). An empty unmarked table is {}. nil and
//     json.null are null; NaN, ±Inf, functions and cyclic or too deep
//     tables raise an error. Integers up to 1e15 are written without a
//     fraction, other numbers in the shortest form that reads back the
//     same float64. The output is capped at MaxStringBytes.
//   - json.array(t) marks t (a new table if nil) as an array and returns it.
//   - json.null is the null sentinel.
type jsonLib struct {
	st      *state
	null    *lua.LUserData
	arrayMT *lua.LTable
	numMT   *lua.LTable
	buf     []byte // encode's scratch, reused while small
}

// maxKeptBuffer is the largest encode buffer kept for the next call.
const maxKeptBuffer = 64 << 10

func (st *state) openJSON(L *lua.LState) *lua.LTable {
	j := &jsonLib{st: st}
	st.json = j
	j.null = L.NewUserData()
	j.null.Value = "null"
	nullMT := L.NewTable()
	nullMT.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("null"))
		return 1
	}))
	nullMT.RawSetString("__metatable", lockedMT)
	j.null.Metatable = nullMT

	j.arrayMT = L.NewTable()
	j.arrayMT.RawSetString("__jsontype", lua.LString("array"))
	j.numMT = j.numberMetatable(L)

	mod := L.NewTable()
	mod.RawSetString("encode", L.NewFunction(j.encode))
	mod.RawSetString("decode", L.NewFunction(j.decode))
	mod.RawSetString("array", L.NewFunction(j.array))
	mod.RawSetString("null", j.null)
	return mod
}

// array is json.array(t).
func (j *jsonLib) array(L *lua.LState) int {
	var t *lua.LTable
	if L.Get(1) == lua.LNil {
		t = L.NewTable()
	} else {
		t = L.CheckTable(1)
		if mt, ok := t.Metatable.(*lua.LTable); ok && mt != j.arrayMT {
			L.ArgError(1, "table already has a metatable")
		}
	}
	t.Metatable = j.arrayMT
	L.Push(t)
	return 1
}

// ---- decode ----

type decodeFrame struct {
	t      *lua.LTable
	array  bool
	n      int
	key    string
	hasKey bool // an object's key was read, its value is next
}

// decode is json.decode(s).
func (j *jsonLib) decode(L *lua.LState) int {
	s := L.CheckString(1)
	v, err := j.decodeString(L, s)
	if err != nil {
		L.RaiseError("json.decode: %s", err.Error())
	}
	L.Push(v)
	return 1
}

var errJSONDepth = errors.New("nested deeper than 512")

// decodeString builds the Lua value of s with goccy/go-json's validating
// tokenizer and an explicit stack (no recursion).
func (j *jsonLib) decodeString(L *lua.LState, s string) (lua.LValue, error) {
	dec := gojson.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var (
		stack []decodeFrame
		root  lua.LValue
		done  bool
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if !done {
				return nil, errors.New("unexpected end of input")
			}
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		if done {
			return nil, errors.New("data after the top-level value")
		}
		var v lua.LValue
		switch t := tok.(type) {
		case gojson.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return nil, errJSONDepth
				}
				tbl := L.NewTable()
				if t == '[' {
					tbl.Metatable = j.arrayMT
				}
				stack = append(stack, decodeFrame{t: tbl, array: t == '['})
				continue
			default: // '}' or ']'
				v = stack[len(stack)-1].t
				stack = stack[:len(stack)-1]
			}
		case string:
			if n := len(stack); n > 0 && !stack[n-1].array && !stack[n-1].hasKey {
				stack[n-1].key, stack[n-1].hasKey = t, true
				continue
			}
			v = lua.LString(t)
		case gojson.Number:
			v = j.number(L, string(t))
		case bool:
			v = lua.LBool(t)
		case nil:
			v = j.null
		default:
			return nil, errors.New("unexpected token")
		}
		if len(stack) == 0 {
			root, done = v, true
			continue
		}
		f := &stack[len(stack)-1]
		if f.array {
			f.n++
			f.t.RawSetInt(f.n, v)
		} else {
			f.t.RawSetString(f.key, v)
			f.key, f.hasKey = "", false
		}
	}
}

// number turns a JSON number literal into a Lua number when that is
// exact, and into a json number userdata otherwise.
func (j *jsonLib) number(L *lua.LState, lit string) lua.LValue {
	if exactAsFloat(lit) {
		if f, err := strconv.ParseFloat(lit, 64); err == nil {
			return lua.LNumber(f)
		}
	}
	ud := L.NewUserData()
	ud.Value = lit
	ud.Metatable = j.numMT
	return ud
}

// exactAsFloat reports whether the JSON number lit survives a float64:
// an integer of at most 2^53 in magnitude, or any number with at most 15
// significant digits and a modest exponent.
func exactAsFloat(lit string) bool {
	digits, sig, frac := 0, false, false
	i := 0
	if i < len(lit) && lit[i] == '-' {
		i++
	}
	for ; i < len(lit); i++ {
		c := lit[i]
		switch {
		case c >= '0' && c <= '9':
			if c != '0' || sig {
				sig = true
				digits++
			}
		case c == '.':
			frac = true
		case c == 'e' || c == 'E':
			exp, err := strconv.Atoi(lit[i+1:])
			return err == nil && digits <= maxExactDigits && exp > -300 && exp < 300
		}
	}
	if !frac && digits > maxExactDigits {
		n, err := strconv.ParseInt(lit, 10, 64)
		return err == nil && n >= -maxSafeInteger && n <= maxSafeInteger
	}
	return digits <= maxExactDigits
}

// numberMetatable is the metatable of json numbers.
func (j *jsonLib) numberMetatable(L *lua.LState) *lua.LTable {
	mt := L.NewTable()
	toF := func(L *lua.LState, n int) float64 {
		switch v := L.Get(n).(type) {
		case lua.LNumber:
			return float64(v)
		case *lua.LUserData:
			if s, ok := v.Value.(string); ok && v.Metatable == mt {
				f, _ := strconv.ParseFloat(s, 64)
				return f
			}
		case lua.LString:
			if f, err := strconv.ParseFloat(string(v), 64); err == nil {
				return f
			}
		}
		L.RaiseError("attempt to perform arithmetic on a %s value", L.Get(n).Type().String())
		return 0
	}
	arith := func(op func(a, b float64) float64) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LNumber(op(toF(L, 1), toF(L, 2))))
			return 1
		})
	}
	cmp := func(op func(a, b float64) bool) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LBool(op(toF(L, 1), toF(L, 2))))
			return 1
		})
	}
	str := func(L *lua.LState, n int) string {
		if ud, ok := L.Get(n).(*lua.LUserData); ok && ud.Metatable == mt {
			return ud.Value.(string)
		}
		return L.ToStringMeta(L.Get(n)).String()
	}
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(str(L, 1)))
		return 1
	}))
	mt.RawSetString("__concat", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(str(L, 1) + str(L, 2)))
		return 1
	}))
	mt.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(str(L, 1) == str(L, 2) || toF(L, 1) == toF(L, 2)))
		return 1
	}))
	mt.RawSetString("__lt", cmp(func(a, b float64) bool { return a < b }))
	mt.RawSetString("__le", cmp(func(a, b float64) bool { return a <= b }))
	mt.RawSetString("__add", arith(func(a, b float64) float64 { return a + b }))
	mt.RawSetString("__sub", arith(func(a, b float64) float64 { return a - b }))
	mt.RawSetString("__mul", arith(func(a, b float64) float64 { return a * b }))
	mt.RawSetString("__div", arith(func(a, b float64) float64 { return a / b }))
	mt.RawSetString("__mod", arith(func(a, b float64) float64 { return a - math.Floor(a/b)*b }))
	mt.RawSetString("__pow", arith(math.Pow))
	mt.RawSetString("__unm", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(-toF(L, 1)))
		return 1
	}))
	mt.RawSetString("__metatable", lockedMT)
	return mt
}
