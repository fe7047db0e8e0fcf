package script

import (
	"context"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/pm"
)

// lockedMT is the __metatable value of every metatable the sandbox sets:
// getmetatable returns it instead of the metatable, and setmetatable
// refuses to replace a metatable that has it.
const lockedMT = lua.LString("locked")

// baseNames are the base library functions a script keeps. Left out:
// dofile, loadfile, load, loadstring, require, module (code from outside
// the script), getfenv, setfenv (reach and replace other functions'
// environments), rawset (writes through the read-only tables),
// collectgarbage, newproxy, _printregs (dumps to stdout); print is
// replaced by one that logs.
var baseNames = []string{
	"assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
	"select", "tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION",
}

// state is one pooled Lua state with the script loaded: its hooks, the
// userdata passed to them, and its budget.
type state struct {
	s  *Script
	L  *lua.LState
	b  *budget
	fn *lua.LFunction // the compiled chunk

	onRequest, onResponse *lua.LFunction

	reqUD, resUD         *lua.LUserData
	reqHdrUD, resHdrUD   *lua.LUserData
	queryUD              *lua.LUserData
	req                  *Request
	res                  *Response
	jwt                  lua.LValue // req.jwt for this call, built on first use
	json                 *jsonLib
	maxString            int
	origRep, origFormat  lua.LGFunction
	origGsub, origConcat lua.LGFunction
}

// newState builds a sandboxed state and runs the script's top level in it
// (bounded by Timeout like a call).
func (s *Script) newState() (*state, error) {
	o := &s.opts
	L := lua.NewState(lua.Options{
		SkipOpenLibs:    true,
		CallStackSize:   o.CallStackSize,
		RegistrySize:    o.RegistrySize,
		RegistryMaxSize: o.RegistryMaxSize,
		// gopher-lua grows the value stack linearly, by this step, and
		// copies it each time: the default step of 32 slots made unpack of
		// a huge table take seconds of copying before the overflow.
		RegistryGrowStep: max(o.RegistrySize, o.RegistryMaxSize/16),
	})
	st := &state{s: s, L: L, maxString: o.MaxStringBytes}
	st.b = newBudget(L, o.Timeout, o.MaxMemoryBytes)
	env := st.openSandbox()

	st.fn = L.NewFunctionFromProto(s.proto)
	st.fn.Env = env
	L.SetContext(st.b)
	if err := st.pcall(context.Background(), time.Now(), st.fn, 0, 0); err != nil {
		st.close()
		return nil, err
	}
	user := st.freeze(env)
	st.onRequest, _ = user.RawGetString("on_request").(*lua.LFunction)
	st.onResponse, _ = user.RawGetString("on_response").(*lua.LFunction)
	s.statesCreated.Add(1)
	return st, nil
}

// close releases the state's resources.
func (st *state) close() {
	st.b.timer.Stop()
	st.L.Close()
}

// openSandbox opens the allowed libraries and returns the environment of
// the script's code: an empty table whose __index is the table of allowed
// globals. Each library is a read-only proxy: an empty table whose
// metatable sends reads to the library and refuses writes, with a
// protected metatable. So nothing a call does to string, table, math,
// os, json or the globals is seen by the next call on the same state.
func (st *state) openSandbox() *lua.LTable {
	L := st.L
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.OsLibName, lua.OpenOs},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	base := L.NewTable()
	for _, name := range baseNames {
		base.RawSetString(name, g.RawGetString(name))
	}
	base.RawSetString("print", L.NewFunction(st.print))
	origSetMT := g.RawGetString("setmetatable").(*lua.LFunction).GFunction
	base.RawSetString("setmetatable", L.NewFunction(func(L *lua.LState) int {
		// Lua 5.1 sets metatables on tables only; gopher-lua would also
		// set the shared metatable of every number, boolean or function.
		L.CheckTable(1)
		return origSetMT(L)
	}))
	getMT := g.RawGetString("getmetatable")
	base.RawSetString("getmetatable", getMT)

	// string: bounded builders, no dump, a protected string metatable
	// whose __index is the library itself (for s:upper()).
	str := g.RawGetString("string").(*lua.LTable)
	st.origRep = gfunc(str, "rep")
	st.origFormat = gfunc(str, "format")
	st.origGsub = gfunc(str, "gsub")
	str.RawSetString("rep", L.NewFunction(st.strRep))
	str.RawSetString("format", L.NewFunction(st.strFormat))
	str.RawSetString("gsub", L.NewFunction(st.strGsub))
	str.RawSetString("dump", lua.LNil)
	str.RawSetString("__index", lua.LNil)
	smt := L.NewTable()
	smt.RawSetString("__index", str)
	smt.RawSetString("__metatable", lockedMT)
	L.SetMetatable(lua.LString(""), smt)

	tbl := g.RawGetString("table").(*lua.LTable)
	st.origConcat = gfunc(tbl, "concat")
	tbl.RawSetString("concat", L.NewFunction(st.tableConcat))

	math := g.RawGetString("math").(*lua.LTable)
	math.RawSetString("randomseed", lua.LNil) // seeds the process-wide math/rand

	osLib := g.RawGetString("os").(*lua.LTable)
	os := L.NewTable()
	os.RawSetString("time", osLib.RawGetString("time"))
	os.RawSetString("clock", osLib.RawGetString("clock"))

	base.RawSetString("string", readOnly(L, str, "string"))
	base.RawSetString("table", readOnly(L, tbl, "table"))
	base.RawSetString("math", readOnly(L, math, "math"))
	base.RawSetString("os", readOnly(L, os, "os"))
	base.RawSetString("json", readOnly(L, st.openJSON(L), "json"))

	// The real globals table keeps the unsafe functions but no script
	// code can reach it: every function's environment is env below, and
	// getfenv is gone.
	env := L.NewTable()
	envMT := L.NewTable()
	envMT.RawSetString("__index", base)
	envMT.RawSetString("__metatable", lockedMT)
	env.Metatable = envMT
	base.RawSetString("_G", env)

	st.reqUD, st.resUD = st.newReqUD(), st.newResUD()
	st.reqHdrUD, st.resHdrUD = st.newHeadersUD(), st.newHeadersUD()
	st.queryUD = st.newQueryUD()
	return env
}

// freeze runs after the script's top level: the globals it defined move
// into the table behind env, and env refuses new assignments, so a hook
// cannot keep state in globals (a pooled state would show it to some
// later calls and not others). It returns the table of globals.
func (st *state) freeze(env *lua.LTable) *lua.LTable {
	L := st.L
	user := L.NewTable()
	base := env.Metatable.(*lua.LTable).RawGetString("__index").(*lua.LTable)
	for k, v := base.Next(lua.LNil); k != lua.LNil; k, v = base.Next(k) {
		user.RawSet(k, v)
	}
	var keys []lua.LValue
	for k, v := env.Next(lua.LNil); k != lua.LNil; k, v = env.Next(k) {
		user.RawSet(k, v)
		keys = append(keys, k)
	}
	for _, k := range keys {
		env.RawSet(k, lua.LNil)
	}
	mt := L.NewTable()
	mt.RawSetString("__index", user)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("cannot assign global %q: globals are read-only once the script is loaded (use a local)",
			L.ToStringMeta(L.Get(2)).String())
		return 0
	}))
	mt.RawSetString("__metatable", lockedMT)
	env.Metatable = mt
	return user
}

// readOnly returns a proxy of t that reads through to it and refuses
// writes.
func readOnly(L *lua.LState, t *lua.LTable, name string) *lua.LTable {
	p := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only", name)
		return 0
	}))
	mt.RawSetString("__metatable", lockedMT)
	p.Metatable = mt
	return p
}

// gfunc returns the Go function behind t[name].
func gfunc(t *lua.LTable, name string) lua.LGFunction {
	return t.RawGetString(name).(*lua.LFunction).GFunction
}

// print logs its arguments at Debug level.
func (st *state) print(L *lua.LState) int {
	lg := st.s.opts.Logger
	if !lg.Enabled(context.Background(), -4) {
		return 0
	}
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		b.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	lg.Debug("script print", "route", st.s.opts.Name, "msg", b.String())
	return 0
}

// tripString stops the call: a library function was asked to build a
// string of n bytes, over MaxStringBytes.
func (st *state) tripString(L *lua.LState, fn string, n int) {
	e := errorf(Memory, "%s would build a string of %d bytes or more, over the %d-byte cap (script_limits.max_string)",
		fn, n, st.maxString)
	st.b.trip(e)
	L.RaiseError("%s", e.msg)
}

// strRep is string.rep with its result capped.
func (st *state) strRep(L *lua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	if n > 0 && len(s) > 0 && n > st.maxString/len(s) {
		st.tripString(L, "string.rep", n*len(s))
	}
	return st.origRep(L)
}

// strFormat is string.format with Lua's own limits on widths and
// precisions (two digits each) and its result capped: without them one
// "%999999d" or many "%s" of one big string would allocate without bound.
func (st *state) strFormat(L *lua.LState) int {
	f := L.CheckString(1)
	total, specs := len(f), 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		specs++
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		if d := digits(f, i); d > 2 {
			L.RaiseError("invalid format (width or precision too long)")
		} else {
			i += d
		}
		if i < len(f) && f[i] == '.' {
			i++
			if d := digits(f, i); d > 2 {
				L.RaiseError("invalid format (width or precision too long)")
			} else {
				i += d
			}
		}
	}
	total += specs * 100
	for i := 2; i <= L.GetTop(); i++ {
		if s, ok := L.Get(i).(lua.LString); ok {
			total += len(s)
		} else {
			total += 32
		}
	}
	if total > st.maxString {
		st.tripString(L, "string.format", total)
	}
	return st.origFormat(L)
}

func digits(s string, i int) int {
	n := 0
	for i+n < len(s) && s[i+n] >= '0' && s[i+n] <= '9' {
		n++
	}
	return n
}

// strGsub is string.gsub with its result capped. A string replacement
// is checked before any work: the result is at most the subject plus, per
// match, the replacement with each %n as long as the subject; only when
// that bound is over the cap are matches counted, up to one more than
// fits. A function or
// table replacement is wrapped to add up what it returns.
func (st *state) strGsub(L *lua.LState) int {
	s := L.CheckString(1)
	pat := L.CheckString(2)
	limit := L.OptInt(4, -1)
	switch repl := L.Get(3).(type) {
	case lua.LString:
		per := int64(len(repl)) + int64(strings.Count(string(repl), "%"))*int64(len(s))
		room := int64(st.maxString) - int64(len(s))
		if per > 0 && (int64(len(s))+1)*per > room {
			// Find at most one match more than fits: past it, the
			// result would be over the cap. pm.Find stops there, so
			// this costs no more than the gsub itself.
			allowed := room / per
			if limit >= 0 && int64(limit) <= allowed {
				break
			}
			mds, err := pm.Find(pat, []byte(s), 0, int(allowed)+1)
			if err == nil && int64(len(mds)) > allowed {
				st.tripString(L, "string.gsub", int(min(int64(len(s))+int64(len(mds))*per, 1<<62)))
			}
		}
	case *lua.LFunction, *lua.LTable:
		total := len(s)
		L.Replace(3, L.NewFunction(func(L *lua.LState) int {
			var v lua.LValue
			if t, ok := repl.(*lua.LTable); ok {
				v = L.GetTable(t, L.Get(1))
			} else {
				n := L.GetTop()
				L.Push(repl)
				for i := 1; i <= n; i++ {
					L.Push(L.Get(i))
				}
				L.Call(n, 1)
				v = L.Get(-1)
			}
			switch v := v.(type) {
			case lua.LString:
				total += len(v)
			case lua.LNumber:
				total += 32
			}
			if total > st.maxString {
				st.tripString(L, "string.gsub", total)
			}
			L.Push(v)
			return 1
		}))
	}
	return st.origGsub(L)
}

// tableConcat is table.concat with its result capped, checked before it
// is built.
func (st *state) tableConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, t.Len())
	total := 0
loop:
	for k := i; k <= j; k++ {
		switch v := t.RawGetInt(k).(type) {
		case lua.LString:
			total += len(v) + len(sep)
		case lua.LNumber:
			total += 32 + len(sep)
		default:
			break loop // the original raises the error
		}
		if total > st.maxString {
			st.tripString(L, "table.concat", total)
		}
	}
	return st.origConcat(L)
}
