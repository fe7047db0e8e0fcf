// Package script runs a route's sandboxed Lua (DESIGN §10) on gopher-lua:
// on_request(req) before the backend, on_response(req, res) after it.
//
// Compile parses and compiles the script once (a *lua.FunctionProto) and
// builds a first state, which tells which hooks exist (HasRequest,
// HasResponse). States are pooled: each holds the loaded script, its
// read-only libraries, and the req/res userdata that each call points at
// its Request and Response, so a no-op call allocates nothing
// (TestNoopAllocs) and a field becomes a Lua value only when read. A
// call that fails drops its state; the next one builds a fresh one.
//
// The package is HTTP-neutral and imports nothing of ours: the engine
// adapts its headers to HeaderAccess and its query to QueryAccess, and
// maps *Error (Kind Syntax, Runtime, Timeout, Memory, with the route, the
// file and the Lua line) to a 500 internal, logged and counted per route
// (Stats).
//
// # Lua API
//
// req.method, req.path (settable), req.query[k], req.headers:get/set/del,
// req.body (settable), req.jwt (claims table, nil without a token),
// req.ip, req.route; res.status (settable), res.headers:get/set/del,
// res.body (settable). headers:get returns nil for a missing header;
// headers:set refuses CR, LF and NUL. on_request may answer directly by
// returning {status = 403, body = "…", headers = {…}} (status defaults
// to 200). json.encode, json.decode, json.array and json.null are
// described on jsonLib: arrays and objects are told apart, null is a
// sentinel, key order is kept, and integers beyond 2^53 or decimals of
// more than 15 digits decode to a "json number" that encodes back
// verbatim (Lua 5.1 cannot compare it with a plain number: use
// x + 0 or tonumber(tostring(x))).
//
// # Sandbox
//
// Only these are open: the base functions assert, error, ipairs, next,
// pairs, pcall, rawequal, rawget, select, setmetatable (tables only),
// getmetatable, tonumber, tostring, type, unpack, xpcall, print (to the
// Logger at Debug); string (without dump), table, math (without
// randomseed, which seeds the process-wide generator), os.time and
// os.clock, and json. Not there: io, os.execute/getenv/exit/remove/…,
// package, require, module, load, loadstring, dofile, loadfile, debug,
// coroutine, collectgarbage, getfenv, setfenv, rawset, newproxy.
//
// Every library table, the string metatable (getmetatable("") returns
// "locked") and the globals are read-only: writes raise an error, and
// rawset, which would get around that, is gone. Globals are frozen after
// the script's top level ran, so a hook cannot keep state in them; a
// pooled state would show it to some later calls and not to others.
// Upvalues (a top-level local a hook changes) are not frozen: they live
// per state and must not be relied on.
//
// # Limits
//
// Time: each call (and each run of the top level) is bounded by
// Options.Timeout, and by the caller's context. The state's context is a
// budget whose Done method gopher-lua calls before every instruction: it
// checks the clock and the heap every 1024 instructions and every
// millisecond (a per-state timer), and once tripped makes every further
// instruction raise, so pcall cannot swallow the stop. The limit is wall
// clock: on a starved CPU a call can be stopped early. One Go function in
// progress cannot be interrupted: string.find/gsub on a very large
// subject or a json.decode of a very large body can overrun Timeout by
// its own duration.
//
// Stack: Options.CallStackSize bounds Lua call depth (recursion,
// metamethod chains) and RegistryMaxSize the value stack (unpack, varargs);
// both fail with a Memory error and never grow the Go stack.
//
// Memory: gopher-lua has no allocation limit, so three bounds stand in:
//   - MaxStringBytes: string.rep, string.format (which also keeps Lua's
//     two-digit limit on widths and precisions), string.gsub, table.concat
//     and json.encode refuse, before allocating, to build a string over it;
//   - MaxMemoryBytes: the process heap's growth during the call, sampled
//     with the clock checks, stops a script that keeps what it builds (a
//     table growing in a loop, t[i] = big .. i); being process-wide it
//     also sees other requests' memory, so it is set well above need;
//   - Timeout: the `..` operator, which cannot be wrapped, builds at most
//     what memory bandwidth allows in the time between two checks.
//
// JSON and JWT conversion stop at 512 levels of nesting; a cyclic table
// fails to encode instead of recursing.
package script
