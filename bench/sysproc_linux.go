package bench

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// serveSysProcAttr puts pgfast in a process group of its own, so that a
// terminal's Ctrl-C reaches bench only (which then stops pgfast after the
// scenario in progress), and has the kernel send it SIGTERM if bench dies
// without stopping it: a killed bench leaves no pgfast behind.
func serveSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// dropFromPageCache drops f's clean pages from the page cache.
func dropFromPageCache(f *os.File) error {
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
