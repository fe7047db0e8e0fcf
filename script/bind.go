package script

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The req, res, req.headers, res.headers and req.query values are
// userdata made once per state; each call points the state at its
// Request and Response, so passing them to a hook allocates nothing.
// A field is turned into a Lua value only when the script reads it.

func (st *state) newUD(index, newindex lua.LValue) *lua.LUserData {
	L := st.L
	ud := L.NewUserData()
	ud.Value = st
	mt := L.NewTable()
	mt.RawSetString("__index", index)
	if newindex != nil {
		mt.RawSetString("__newindex", newindex)
	}
	mt.RawSetString("__metatable", lockedMT)
	ud.Metatable = mt
	return ud
}

func (st *state) newReqUD() *lua.LUserData {
	return st.newUD(st.L.NewFunction(st.reqIndex), st.L.NewFunction(st.reqNewIndex))
}

func (st *state) newResUD() *lua.LUserData {
	return st.newUD(st.L.NewFunction(st.resIndex), st.L.NewFunction(st.resNewIndex))
}

func (st *state) newQueryUD() *lua.LUserData {
	return st.newUD(st.L.NewFunction(st.queryIndex), st.L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("req.query is read-only")
		return 0
	}))
}

func (st *state) newHeadersUD() *lua.LUserData {
	L := st.L
	methods := L.NewTable()
	methods.RawSetString("get", L.NewFunction(st.headerGet))
	methods.RawSetString("set", L.NewFunction(st.headerSet))
	methods.RawSetString("del", L.NewFunction(st.headerDel))
	return st.newUD(methods, L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("headers are changed with :set and :del")
		return 0
	}))
}

// request returns the call's Request, raising an error when a script
// uses req after its call ended (kept in an upvalue).
func (st *state) request(L *lua.LState) *Request {
	if st.req == nil {
		L.RaiseError("req is only valid during the call it was passed to")
	}
	return st.req
}

func (st *state) response(L *lua.LState) *Response {
	if st.res == nil {
		L.RaiseError("res is only valid during the on_response call it was passed to")
	}
	return st.res
}

func (st *state) reqIndex(L *lua.LState) int {
	r := st.request(L)
	switch L.CheckString(2) {
	case "method":
		L.Push(lua.LString(r.Method))
	case "path":
		L.Push(lua.LString(r.Path))
	case "query":
		L.Push(st.queryUD)
	case "headers":
		L.Push(st.reqHdrUD)
	case "body":
		L.Push(lua.LString(r.Body))
	case "jwt":
		if st.jwt == nil {
			st.jwt = lua.LNil
			if r.JWT != nil {
				st.jwt = st.json.goToLua(L, r.JWT, 0)
			}
		}
		L.Push(st.jwt)
	case "ip":
		L.Push(lua.LString(r.IP))
	case "route":
		L.Push(lua.LString(r.Route))
	default:
		L.Push(lua.LNil)
	}
	return 1
}

func (st *state) reqNewIndex(L *lua.LState) int {
	r := st.request(L)
	switch k := L.CheckString(2); k {
	case "path":
		r.Path = L.CheckString(3)
	case "body":
		r.Body = []byte(L.CheckString(3))
	default:
		L.RaiseError("req.%s is read-only (only req.path and req.body may be set)", k)
	}
	return 0
}

func (st *state) resIndex(L *lua.LState) int {
	r := st.response(L)
	switch L.CheckString(2) {
	case "status":
		L.Push(lua.LNumber(r.Status))
	case "headers":
		L.Push(st.resHdrUD)
	case "body":
		L.Push(lua.LString(r.Body))
	default:
		L.Push(lua.LNil)
	}
	return 1
}

func (st *state) resNewIndex(L *lua.LState) int {
	r := st.response(L)
	switch k := L.CheckString(2); k {
	case "status":
		code := L.CheckInt(3)
		if code < 100 || code > 599 {
			L.RaiseError("res.status must be 100-599, got %d", code)
		}
		r.Status = code
	case "body":
		r.Body = []byte(L.CheckString(3))
	default:
		L.RaiseError("res.%s is read-only (only res.status and res.body may be set)", k)
	}
	return 0
}

func (st *state) queryIndex(L *lua.LState) int {
	q := st.request(L).Query
	if q == nil {
		L.Push(lua.LNil)
		return 1
	}
	if v, ok := q.Lookup(L.CheckString(2)); ok {
		L.Push(lua.LString(v))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

// headers returns the HeaderAccess behind the userdata self.
func (st *state) headers(L *lua.LState) HeaderAccess {
	switch L.CheckUserData(1) {
	case st.reqHdrUD:
		return st.request(L).Headers
	case st.resHdrUD:
		return st.response(L).Headers
	}
	L.ArgError(1, "headers expected (call it as headers:get(name))")
	return nil
}

// headerGet is headers:get(name): the value, or nil when missing or empty.
func (st *state) headerGet(L *lua.LState) int {
	h := st.headers(L)
	k := L.CheckString(2)
	if h == nil {
		L.Push(lua.LNil)
		return 1
	}
	if v := h.Get(k); v != "" {
		L.Push(lua.LString(v))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

// headerSet is headers:set(name, value); a nil value deletes.
func (st *state) headerSet(L *lua.LState) int {
	h := st.headers(L)
	k := L.CheckString(2)
	if L.Get(3) == lua.LNil {
		if h != nil {
			h.Del(k)
		}
		return 0
	}
	v := L.CheckString(3)
	checkHeader(L, k, v)
	if h != nil {
		h.Set(k, v)
	}
	return 0
}

// headerDel is headers:del(name).
func (st *state) headerDel(L *lua.LState) int {
	h := st.headers(L)
	k := L.CheckString(2)
	if h != nil {
		h.Del(k)
	}
	return 0
}

// checkHeader refuses a header a script sets when its name or value could
// split the header block (CR, LF, NUL) or its name is empty.
func checkHeader(L *lua.LState, k, v string) {
	if k == "" || strings.ContainsAny(k, "\r\n\x00: ") || strings.ContainsAny(v, "\r\n\x00") {
		L.RaiseError("invalid header %q: %q", k, v)
	}
}
