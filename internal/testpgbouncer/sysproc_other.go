//go:build !linux

package testpgbouncer

import (
	"syscall"

	"github.com/pgfast/pgfast/embedpg"
)

// sysProcAttr: parent-death signals and the switch away from root are wired
// up for Linux only; elsewhere pgbouncer runs as ourselves (it refuses root,
// and says so in the failure message) and relies on the test's cleanup to
// stop it.
func sysProcAttr(*embedpg.RunAs) *syscall.SysProcAttr { return nil }
