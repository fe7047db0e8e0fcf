package engine

import (
	"syscall"
	"unsafe"
)

// sendQueue is how many bytes written to the socket its peer has not
// acknowledged yet (SIOCOUTQ, tcp(7)); 0 when it cannot tell.
func sendQueue(rc syscall.RawConn) int64 {
	if rc == nil {
		return 0
	}
	var n int32
	var errno syscall.Errno
	err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&n)))
	})
	if err != nil || errno != 0 {
		return 0
	}
	return int64(n)
}

// resetOnClose makes closing the socket send a reset and drop what is
// still queued (SO_LINGER with a zero timeout), instead of the kernel
// trickling megabytes out to a client that was cut for reading too slowly.
func resetOnClose(rc syscall.RawConn) {
	if rc == nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	})
}
