package script

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// ErrInvalidOptions is wrapped by every error Options.Validate returns.
var ErrInvalidOptions = errors.New("script: invalid options")

// Defaults for the Options fields whose zero value means "the default".
// Timeout has none here: the configuration's script_limits.timeout
// (20ms) is its default, and a zero Timeout is refused.
const (
	// DefaultMaxMemoryBytes is the per-call allocation budget: 64 MiB,
	// room for decoding and re-encoding a JSON body of a few MiB.
	DefaultMaxMemoryBytes = 64 << 20
	// DefaultMaxStringBytes caps one string built by a library function
	// (string.rep, string.format, string.gsub, table.concat, json.encode):
	// 8 MiB.
	DefaultMaxStringBytes = 8 << 20
	// DefaultCallStackSize is the depth of nested Lua calls: 200, the
	// same order as C Lua's LUAI_MAXCCALLS; deeper recursion fails with a
	// Memory error instead of growing the Go stack.
	DefaultCallStackSize = 200
	// DefaultRegistrySize is the initial size of a state's value stack,
	// in slots of 16 bytes: 1024 slots, 16 KiB per pooled state.
	DefaultRegistrySize = 1024
	// DefaultRegistryMaxSize is how far the value stack may grow: 64Ki
	// slots, 1 MiB (200 frames of 300 registers fit); unpack of a huge
	// table and huge varargs stop there.
	DefaultRegistryMaxSize = 64 << 10
)

// Options configures a Script. Every field has a documented meaning for
// its zero value, so a literal with Name, File and Timeout works.
type Options struct {
	// Name is the route the script runs on; it appears in errors, logs
	// and Stats (Error.Route, the {route} label).
	Name string
	// File is the script's path. It is read by Compile unless Source is
	// set, and names the chunk in error messages (Error.File, "users.lua:3:
	// …"). Required unless Source is set.
	File string
	// Source is the script's text, used instead of reading File (tests,
	// scripts embedded in the configuration). File, if set, still names it.
	Source []byte
	// Timeout bounds each call of a hook (and the script's top-level code
	// when a state is built): past it the script is stopped between two
	// Lua instructions and the call fails with a Timeout error. Required
	// (> 0); the configuration's script_limits.timeout defaults to 20ms.
	Timeout time.Duration
	// MaxMemoryBytes bounds how much the Go heap may grow while one call
	// runs (bytes in heap objects, sampled every 1024 Lua instructions
	// and when the timer fires); past it the call stops with a Memory
	// error. The reading is process-wide, so under heavy load other
	// requests' memory counts too: keep it well above what a hook needs
	// (a few times the largest body it decodes). gopher-lua itself has no
	// allocation limit; see doc.go for what bounds what. 0 means
	// DefaultMaxMemoryBytes (64 MiB); negative is refused.
	MaxMemoryBytes int
	// MaxStringBytes caps a single string built by string.rep,
	// string.format, string.gsub, table.concat or json.encode: a bigger
	// result is refused before it is allocated, with a Memory error. It
	// must not exceed MaxMemoryBytes. 0 means the smaller of
	// DefaultMaxStringBytes (8 MiB) and MaxMemoryBytes.
	MaxStringBytes int
	// CallStackSize is the maximum depth of Lua calls (deep or infinite
	// recursion fails with a Memory error). 0 means DefaultCallStackSize.
	CallStackSize int
	// RegistrySize is the initial size of a state's value stack in slots
	// (at least 128). 0 means DefaultRegistrySize.
	RegistrySize int
	// RegistryMaxSize is the size the value stack may grow to; overflowing
	// it fails with a Memory error. It grows in 16 steps at most (each
	// one copies it), and never shrinks while the state is pooled. 0 means
	// DefaultRegistryMaxSize; it is raised to RegistrySize when smaller.
	RegistryMaxSize int
	// MaxIdle is the number of ready states kept for reuse. A call takes
	// one (or builds one, running the script's top level, when none is
	// idle) and gives it back afterwards unless the call failed. 0 means
	// 2 × GOMAXPROCS.
	MaxIdle int
	// Logger receives the script's print() output (at Debug level, with
	// the route) and notes about discarded states. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports whether o can build a Script. Every error wraps
// ErrInvalidOptions.
func (o *Options) Validate() error {
	switch {
	case o.File == "" && o.Source == nil:
		return fmt.Errorf("%w: route %q: script has neither a file nor a source", ErrInvalidOptions, o.Name)
	case o.Timeout <= 0:
		return fmt.Errorf("%w: route %q: timeout must be > 0 (script_limits.timeout), got %s", ErrInvalidOptions, o.Name, o.Timeout)
	case o.MaxMemoryBytes < 0:
		return fmt.Errorf("%w: route %q: max memory must be >= 0, got %d", ErrInvalidOptions, o.Name, o.MaxMemoryBytes)
	case o.MaxStringBytes < 0:
		return fmt.Errorf("%w: route %q: max string size must be >= 0, got %d", ErrInvalidOptions, o.Name, o.MaxStringBytes)
	case o.MaxMemoryBytes > 0 && o.MaxStringBytes > o.MaxMemoryBytes:
		return fmt.Errorf("%w: route %q: max string size %d exceeds max memory %d", ErrInvalidOptions, o.Name, o.MaxStringBytes, o.MaxMemoryBytes)
	case o.CallStackSize < 0:
		return fmt.Errorf("%w: route %q: call stack size must be >= 0, got %d", ErrInvalidOptions, o.Name, o.CallStackSize)
	case o.RegistrySize != 0 && o.RegistrySize < 128:
		return fmt.Errorf("%w: route %q: registry size must be 0 or >= 128, got %d", ErrInvalidOptions, o.Name, o.RegistrySize)
	case o.RegistryMaxSize < 0:
		return fmt.Errorf("%w: route %q: registry max size must be >= 0, got %d", ErrInvalidOptions, o.Name, o.RegistryMaxSize)
	case o.MaxIdle < 0:
		return fmt.Errorf("%w: route %q: max idle states must be >= 0, got %d", ErrInvalidOptions, o.Name, o.MaxIdle)
	}
	return nil
}

// withDefaults returns o with every zero that means "the default" filled.
func (o Options) withDefaults() Options {
	if o.MaxMemoryBytes == 0 {
		o.MaxMemoryBytes = DefaultMaxMemoryBytes
	}
	if o.MaxStringBytes == 0 {
		o.MaxStringBytes = min(DefaultMaxStringBytes, o.MaxMemoryBytes)
	}
	if o.CallStackSize == 0 {
		o.CallStackSize = DefaultCallStackSize
	}
	if o.RegistrySize == 0 {
		o.RegistrySize = DefaultRegistrySize
	}
	if o.RegistryMaxSize == 0 {
		o.RegistryMaxSize = DefaultRegistryMaxSize
	}
	o.RegistryMaxSize = max(o.RegistryMaxSize, o.RegistrySize)
	if o.MaxIdle == 0 {
		o.MaxIdle = 2 * runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// chunkName is the name the script's code carries in Lua error messages.
func (o *Options) chunkName() string {
	if o.File != "" {
		return o.File
	}
	if o.Name != "" {
		return o.Name + ".lua"
	}
	return "script.lua"
}
