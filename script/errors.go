package script

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind classifies an Error.
type Kind uint8

const (
	// Syntax: the script does not parse or compile (Compile only).
	Syntax Kind = iota + 1
	// Runtime: the script raised an error (error(), indexing nil, a call
	// the sandbox refuses, an invalid answer from on_request…).
	Runtime
	// Timeout: a call ran longer than Options.Timeout, or the caller's
	// context ended first.
	Timeout
	// Memory: a call hit a memory or stack limit: MaxMemoryBytes,
	// MaxStringBytes, CallStackSize or RegistryMaxSize.
	Memory
)

// String returns the kind's name in lower case.
func (k Kind) String() string {
	switch k {
	case Syntax:
		return "syntax"
	case Runtime:
		return "runtime"
	case Timeout:
		return "timeout"
	case Memory:
		return "memory"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is every error Compile, OnRequest and OnResponse return about the
// script itself (not about its Options). The engine answers 500 internal,
// logs it with Route and Line, and counts it per route.
type Error struct {
	// Route is Options.Name.
	Route string
	// File is the chunk name: Options.File, or Name+".lua" for a Source.
	File string
	// Line is the line of the script where the error was raised, 0 when
	// unknown.
	Line int
	// Msg is the error without the "file:line:" prefix.
	Msg string
	// Kind classifies it.
	Kind Kind
}

// Error reads "script route "users" users.lua:3: runtime error: …".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("script")
	if e.Route != "" {
		b.WriteString(" route ")
		b.WriteString(strconv.Quote(e.Route))
	}
	b.WriteString(" ")
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	b.WriteString(" error: ")
	b.WriteString(e.Msg)
	return b.String()
}

// KindOf returns the Kind of err when it is, or wraps, an *Error, and 0
// otherwise.
func KindOf(err error) Kind {
	var se *Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return 0
}

// IsTimeout reports whether err is, or wraps, an *Error of Kind Timeout.
func IsTimeout(err error) bool { return KindOf(err) == Timeout }

// IsMemory reports whether err is, or wraps, an *Error of Kind Memory.
func IsMemory(err error) bool { return KindOf(err) == Memory }

// splitPosition takes "chunk:12: msg" apart into 12 and "msg". Messages
// without the chunk's position come back whole with line 0.
func splitPosition(chunk, msg string) (int, string) {
	msg = strings.TrimSpace(msg)
	rest, ok := strings.CutPrefix(msg, chunk+":")
	if !ok {
		return 0, msg
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(rest) || rest[i] != ':' {
		return 0, msg
	}
	line, err := strconv.Atoi(rest[:i])
	if err != nil {
		return 0, msg
	}
	return line, strings.TrimSpace(rest[i+1:])
}

// limitError is the message of a limit that stopped a call.
type limitError struct {
	kind Kind
	msg  string
}

func (e *limitError) Error() string { return e.msg }

// errorf builds a limitError.
func errorf(kind Kind, format string, args ...any) *limitError {
	return &limitError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
