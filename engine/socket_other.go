//go:build !linux

package engine

import "syscall"

// sendQueue cannot see the send queue on this system: the pace counts the
// bytes written.
func sendQueue(syscall.RawConn) int64 { return 0 }

// resetOnClose leaves the close as it is on this system.
func resetOnClose(syscall.RawConn) {}
