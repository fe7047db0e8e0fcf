package script

import (
	"context"
	"runtime/metrics"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// checkEvery is how many Lua instructions run between two checks of the
// clock, the heap and the caller's context. A check costs about 0.5µs
// (time.Now plus one runtime/metrics read); gopher-lua runs an
// instruction in roughly 10-50ns, so a check every 1024 adds well under
// 1% and notices a runaway loop within some 50µs.
const checkEvery = 1024

// heapMetric is the Go runtime's count of bytes in heap objects, live or
// not yet swept (all goroutines): the cheapest heap-size reading that
// needs no stop-the-world (runtime.ReadMemStats does). Its growth during
// a call approximates what the call holds: garbage the call makes and
// drops is collected and leaves it, while a table or string a runaway
// script keeps growing stays. The cumulative allocation counter
// (/gc/heap/allocs:bytes) was tried first: it stopped a plain counting
// loop, whose boxed numbers are all garbage, after 200ms.
const heapMetric = "/memory/classes/heap/objects:bytes"

// maxTick is the longest time between two checks while a call runs: the
// per-state timer fires every maxTick (or at Timeout if shorter), so a
// few long instructions (s = s .. s doubling a string, t[i] = big .. i
// copying a megabyte each) are checked against the clock and the heap
// every millisecond, not only every checkEvery instructions.
const maxTick = time.Millisecond

// closedCh is what budget.Done returns once the call must stop.
var closedCh = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// budget bounds one call on one state. It is that state's context
// (LState.SetContext): gopher-lua asks for ctx.Done() before every Lua
// instruction, which makes Done a per-instruction hook. It answers nil
// (carry on) until a limit is hit, and a closed channel from then on, so
// the VM raises an error at every following instruction: a script's
// pcall cannot swallow the stop.
//
// Time and heap are checked every checkEvery instructions, and whenever
// a per-state timer has set its flag (every maxTick during a call),
// which catches a few long instructions (s = s .. s doubling a string)
// that the instruction count would take too long to reach. Neither can interrupt
// one Go function in the middle (a long string.find); the library
// functions that could run or allocate without bound are wrapped to
// refuse such inputs instead (sandbox.go).
//
// A budget belongs to one state and is reused by each call on it, so a
// call allocates no context and no timer.
type budget struct {
	L *lua.LState

	parent     context.Context
	parentDone <-chan struct{}
	timeout    time.Duration
	deadline   time.Time
	timer      *time.Timer
	tick       time.Duration
	active     atomic.Bool // a call is running: the timer re-arms itself
	fired      atomic.Bool // set by timer; checked against deadline

	maxAlloc   uint64
	allocStart uint64
	heapRead   bool // allocStart holds this call's baseline
	sample     []metrics.Sample

	n      uint32      // instructions since the last check
	reason *limitError // why the call stopped; nil while it may run
	line   int         // the script's line when reason was set
}

func newBudget(L *lua.LState, timeout time.Duration, maxAlloc int) *budget {
	b := &budget{
		L:        L,
		timeout:  timeout,
		maxAlloc: uint64(maxAlloc),
		sample:   []metrics.Sample{{Name: heapMetric}},
	}
	b.tick = min(timeout, maxTick)
	b.timer = time.AfterFunc(time.Hour, func() {
		b.fired.Store(true)
		if b.active.Load() {
			b.timer.Reset(b.tick)
		}
	})
	b.timer.Stop()
	return b
}

// start arms the budget for one call under ctx, started at now.
//
// The heap baseline is read lazily, at the first check: a read costs
// about 0.4µs, more than half of a no-op call, and most calls end before
// their first check (1024 instructions, 1ms). The price is that what a
// call allocates before its first check is not counted; library
// functions cannot build anything over MaxStringBytes in that time, and
// the `..` operator little more than memory bandwidth × 1ms.
func (b *budget) start(ctx context.Context, now time.Time) {
	b.parent = ctx
	b.parentDone = ctx.Done()
	b.reason = nil
	b.line = 0
	b.n = 0
	b.fired.Store(false)
	b.deadline = now.Add(b.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(b.deadline) {
		b.deadline = d
	}
	b.heapRead = false
	b.active.Store(true)
	b.timer.Reset(b.tick)
}

// stop disarms the timer after a call. A fire that raced past Stop only
// sets fired, which the next call's start clears or its check discounts.
func (b *budget) stop() {
	b.active.Store(false)
	b.timer.Stop()
	b.parent = nil
	b.parentDone = nil
}

// Done is called by the VM before each instruction.
func (b *budget) Done() <-chan struct{} {
	if b.reason != nil {
		return closedCh
	}
	b.n++
	if b.n < checkEvery && !b.fired.Load() {
		return nil
	}
	return b.check()
}

// check is Done's slow path: the clock, the heap, the caller's context.
func (b *budget) check() <-chan struct{} {
	b.n = 0
	if b.parentDone != nil {
		select {
		case <-b.parentDone:
			b.trip(errorf(Timeout, "the request's context ended: %v", context.Cause(b.parent)))
			return closedCh
		default:
		}
	}
	if !time.Now().Before(b.deadline) {
		b.trip(errorf(Timeout, "script ran longer than %s (script_limits.timeout)", b.timeout))
		return closedCh
	}
	b.fired.Store(false) // a stale fire from an earlier call
	if b.maxAlloc > 0 {
		metrics.Read(b.sample)
		if !b.heapRead {
			b.allocStart, b.heapRead = b.sample[0].Value.Uint64(), true
		} else if now := b.sample[0].Value.Uint64(); now > b.allocStart && now-b.allocStart > b.maxAlloc {
			b.trip(errorf(Memory, "the heap grew by %d bytes during the call, over the script's %d-byte budget (script_limits.max_memory)",
				now-b.allocStart, b.maxAlloc))
			return closedCh
		}
	}
	return nil
}

// trip stops the call for reason, noting the script's current line.
func (b *budget) trip(reason *limitError) {
	if b.reason != nil {
		return
	}
	b.reason = reason
	b.line = currentLine(b.L)
}

// currentLine is the line of the innermost Lua function running on L, 0
// if none. It allocates; only error paths call it.
func currentLine(L *lua.LState) int {
	for level := 0; level < 8; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return 0
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			return 0
		}
		if dbg.CurrentLine > 0 {
			return dbg.CurrentLine
		}
	}
	return 0
}

// Deadline is the call's deadline.
func (b *budget) Deadline() (time.Time, bool) { return b.deadline, true }

// Err is the reason the call stopped, for the VM's error message.
func (b *budget) Err() error {
	if b.reason == nil {
		return nil
	}
	return b.reason
}

// Value defers to the caller's context.
func (b *budget) Value(key any) any {
	if b.parent == nil {
		return nil
	}
	return b.parent.Value(key)
}

var _ context.Context = (*budget)(nil)
