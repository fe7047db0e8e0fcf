//go:build !linux

package testredis

import "syscall"

// sysProcAttr: parent-death signals are Linux-only; elsewhere the server
// relies on the test's cleanup to stop it.
func sysProcAttr() *syscall.SysProcAttr { return nil }
