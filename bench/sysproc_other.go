//go:build !linux

package bench

import (
	"os"
	"syscall"
)

// serveSysProcAttr puts pgfast in a process group of its own, so that a
// terminal's Ctrl-C reaches bench only, which stops pgfast in order. Only
// Linux can also stop it when bench dies without doing so.
func serveSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// dropFromPageCache does nothing where the page cache is not Linux's.
func dropFromPageCache(*os.File) error { return nil }
