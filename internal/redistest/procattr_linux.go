package redistest

import "syscall"

// groupAttr: its own process group, killed by the kernel if the test dies.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
