//go:build !linux

package supervisor

import "syscall"

// sysProcAttr: there is no parent-death signal here; workers rely on the
// lifeline pipe (see WatchParent).
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
