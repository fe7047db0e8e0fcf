package testredis

import "syscall"

// sysProcAttr makes the kernel kill redis-server when the test process dies
// without running its cleanups (a panic, a timeout, kill -9), so no server
// outlives its test. Setpgid keeps a terminal's Ctrl-C from reaching it
// before the test's own cleanup does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
