package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Script is one compiled script with its pool of ready states. It is safe
// for concurrent use: each call takes a state of its own.
type Script struct {
	opts  Options
	chunk string
	proto *lua.FunctionProto

	hasRequest, hasResponse bool

	idle   chan *state
	closed atomic.Bool

	calls, errs, timeouts, memErrs atomic.Int64
	answers                        atomic.Int64
	statesCreated, statesDropped   atomic.Int64
	durCounts                      [len(DurationBounds) + 1]atomic.Int64
	durSum                         atomic.Int64
}

// Compile reads (unless o.Source is set), parses and compiles the script
// once, then builds a first state by running its top level, which tells
// which hooks it defines; that state goes to the pool. A parse or compile
// error is an *Error of Kind Syntax with the file and line; a failing top
// level an *Error of its kind; a script that defines neither on_request
// nor on_response an *Error of Kind Runtime.
func Compile(o Options) (*Script, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	src := o.Source
	if src == nil {
		b, err := os.ReadFile(o.File)
		if err != nil {
			return nil, fmt.Errorf("script route %q: cannot read %s: %w", o.Name, o.File, err)
		}
		src = b
	}
	s := &Script{opts: o, chunk: o.chunkName()}
	stmts, err := parse.Parse(strings.NewReader(string(src)), s.chunk)
	if err != nil {
		return nil, s.syntaxError(err)
	}
	if s.proto, err = lua.Compile(stmts, s.chunk); err != nil {
		return nil, s.syntaxError(err)
	}
	st, err := s.newState()
	if err != nil {
		return nil, err
	}
	s.hasRequest, s.hasResponse = st.onRequest != nil, st.onResponse != nil
	if !s.hasRequest && !s.hasResponse {
		st.close()
		return nil, &Error{Route: o.Name, File: s.chunk, Kind: Runtime,
			Msg: "the script defines neither on_request(req) nor on_response(req, res)"}
	}
	s.idle = make(chan *state, o.MaxIdle)
	s.idle <- st
	return s, nil
}

// syntaxError turns a parse or compile error into an *Error.
func (s *Script) syntaxError(err error) *Error {
	e := &Error{Route: s.opts.Name, File: s.chunk, Kind: Syntax, Msg: strings.TrimSpace(err.Error())}
	var pe *parse.Error
	var ce *lua.CompileError
	switch {
	case errors.As(err, &pe):
		e.Line, e.Msg = pe.Pos.Line, pe.Message
		if pe.Token != "" {
			e.Msg += " near '" + pe.Token + "'"
		}
		if pe.Pos.Line == parse.EOF {
			e.Line, e.Msg = 0, pe.Message+" at end of file"
		}
	case errors.As(err, &ce):
		e.Line, e.Msg = ce.Line, ce.Message
	}
	return e
}

// HasRequest reports whether the script defines on_request.
func (s *Script) HasRequest() bool { return s.hasRequest }

// HasResponse reports whether the script defines on_response.
func (s *Script) HasResponse() bool { return s.hasResponse }

// Name is Options.Name.
func (s *Script) Name() string { return s.opts.Name }

// Close drops the idle states. Calls after Close still work but build and
// drop a state each time. Close is idempotent.
func (s *Script) Close() {
	if s.closed.Swap(true) {
		return
	}
	for {
		select {
		case st := <-s.idle:
			st.close()
		default:
			return
		}
	}
}

// OnRequest runs on_request(req). A nil Answer and nil error mean
// continue: req.Path and req.Body hold what the script set, and
// req.Headers has been changed in place. A non-nil Answer is the
// response to send instead of calling the backend. Without an
// on_request hook it returns nil, nil at once.
func (s *Script) OnRequest(ctx context.Context, req *Request) (*Answer, error) {
	if !s.hasRequest {
		return nil, nil
	}
	st, err := s.acquire()
	if err != nil {
		return nil, s.count(err, time.Now())
	}
	start := time.Now()
	st.req = req
	err = st.pcall(ctx, start, st.onRequest, 1, 1)
	var ans *Answer
	if err == nil {
		ret := st.L.Get(-1)
		st.L.Pop(1)
		if ret != lua.LNil {
			ans, err = st.answer(ret)
		}
	}
	st.req, st.jwt = nil, nil
	s.release(st, err)
	if ans != nil {
		s.answers.Add(1)
	}
	return ans, s.count(err, start)
}

// OnResponse runs on_response(req, res): res.Status, res.Body and
// res.Headers hold what the script set. Without an on_response hook it
// returns nil at once.
func (s *Script) OnResponse(ctx context.Context, req *Request, res *Response) error {
	if !s.hasResponse {
		return nil
	}
	st, err := s.acquire()
	if err != nil {
		return s.count(err, time.Now())
	}
	start := time.Now()
	st.req, st.res = req, res
	err = st.pcall(ctx, start, st.onResponse, 2, 0)
	st.req, st.res, st.jwt = nil, nil, nil
	s.release(st, err)
	return s.count(err, start)
}

// acquire takes an idle state or builds one.
func (s *Script) acquire() (*state, error) {
	select {
	case st := <-s.idle:
		return st, nil
	default:
		return s.newState()
	}
}

// release gives st back to the pool, or drops it after an error: a
// stopped or failed call may leave it mid-way (upvalues half-updated, a
// tripped budget), and a fresh state costs one run of the top level.
func (s *Script) release(st *state, err error) {
	if err != nil || s.closed.Load() {
		s.statesDropped.Add(1)
		st.close()
		return
	}
	select {
	case s.idle <- st:
	default:
		st.close()
	}
}

// count records one call.
func (s *Script) count(err error, start time.Time) error {
	d := time.Since(start)
	s.calls.Add(1)
	s.durSum.Add(int64(d))
	i := 0
	for i < len(DurationBounds) && d > DurationBounds[i] {
		i++
	}
	s.durCounts[i].Add(1)
	if err != nil {
		s.errs.Add(1)
		switch KindOf(err) {
		case Timeout:
			s.timeouts.Add(1)
		case Memory:
			s.memErrs.Add(1)
		}
	}
	return err
}

// pcall calls fn with the nargs values the hook takes (req, then res)
// under the call's budget; nret results stay on the stack.
func (st *state) pcall(ctx context.Context, start time.Time, fn *lua.LFunction, nargs, nret int) error {
	L := st.L
	L.Push(fn)
	if nargs >= 1 {
		L.Push(st.reqUD)
	}
	if nargs >= 2 {
		L.Push(st.resUD)
	}
	st.b.start(ctx, start)
	err := L.PCall(nargs, nret, nil)
	st.b.stop()
	if err == nil {
		return nil
	}
	return st.scriptError(err)
}

// scriptError turns a Lua error into an *Error with its kind and line.
func (st *state) scriptError(err error) *Error {
	s := st.s
	msg := err.Error()
	var ae *lua.ApiError
	if errors.As(err, &ae) && ae.Object != nil {
		msg = ae.Object.String()
	}
	line, msg := splitPosition(s.chunk, msg)
	e := &Error{Route: s.opts.Name, File: s.chunk, Line: line, Msg: msg, Kind: Runtime}
	if r := st.b.reason; r != nil {
		e.Kind, e.Msg = r.kind, r.msg
		if e.Line == 0 {
			e.Line = st.b.line
		}
	} else if strings.Contains(msg, "stack overflow") || strings.Contains(msg, "registry overflow") {
		e.Kind = Memory
		e.Msg = msg + fmt.Sprintf(" (call stack %d, registry %d slots)", s.opts.CallStackSize, s.opts.RegistryMaxSize)
	}
	return e
}

// answer turns on_request's returned table into an Answer.
func (st *state) answer(v lua.LValue) (*Answer, error) {
	s := st.s
	fail := func(format string, args ...any) (*Answer, error) {
		return nil, &Error{Route: s.opts.Name, File: s.chunk, Kind: Runtime, Msg: fmt.Sprintf(format, args...)}
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return fail("on_request must return nil or a table {status = …, body = …, headers = {…}}, got a %s", v.Type())
	}
	a := &Answer{Status: 200}
	switch sv := t.RawGetString("status").(type) {
	case *lua.LNilType:
	case lua.LNumber:
		a.Status = int(sv)
		if float64(a.Status) != float64(sv) || a.Status < 100 || a.Status > 599 {
			return fail("on_request answer: status must be an integer 100-599, got %v", sv)
		}
	default:
		return fail("on_request answer: status must be a number, got a %s", sv.Type())
	}
	switch bv := t.RawGetString("body").(type) {
	case *lua.LNilType:
	case lua.LString:
		a.Body = []byte(bv)
	case lua.LNumber:
		a.Body = []byte(bv.String())
	default:
		return fail("on_request answer: body must be a string, got a %s", bv.Type())
	}
	switch hv := t.RawGetString("headers").(type) {
	case *lua.LNilType:
	case *lua.LTable:
		a.Headers = make(map[string]string)
		for k, v := hv.Next(lua.LNil); k != lua.LNil; k, v = hv.Next(k) {
			ks, ok1 := k.(lua.LString)
			if !ok1 {
				return fail("on_request answer: header names must be strings, got a %s", k.Type())
			}
			var vs string
			switch v := v.(type) {
			case lua.LString:
				vs = string(v)
			case lua.LNumber:
				vs = v.String()
			default:
				return fail("on_request answer: header %q must be a string, got a %s", string(ks), v.Type())
			}
			if ks == "" || strings.ContainsAny(string(ks), "\r\n\x00: ") || strings.ContainsAny(vs, "\r\n\x00") {
				return fail("on_request answer: invalid header %q: %q", string(ks), vs)
			}
			a.Headers[string(ks)] = vs
		}
	default:
		return fail("on_request answer: headers must be a table, got a %s", hv.Type())
	}
	return a, nil
}
