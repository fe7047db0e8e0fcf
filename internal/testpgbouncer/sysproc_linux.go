package testpgbouncer

import (
	"syscall"

	"github.com/pgfast/pgfast/embedpg"
)

// sysProcAttr runs pgbouncer as r (nil: as ourselves) and makes the kernel
// kill it when the test process dies without running its cleanups (a panic,
// a timeout, kill -9), so no pooler outlives its test. Setpgid keeps a
// terminal's Ctrl-C from reaching it before the test's own cleanup does. Go
// changes the credentials before it sets the parent-death signal, which a
// credential change would otherwise clear (prctl(2)).
func sysProcAttr(r *embedpg.RunAs) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	a.Credential = r.Credential()
	return a
}
