//go:build !linux

package bench

import "syscall"

// serveSysProcAttr puts pgfast in a process group of its own, so that a
// terminal's Ctrl-C reaches bench only, which stops pgfast in order. Only
// Linux can also stop it when bench dies without doing so.
func serveSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
