package supervisor

import "syscall"

// sysProcAttr asks the kernel to send a worker SIGTERM when the primary
// (strictly: the thread that forked it, see Run) dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
