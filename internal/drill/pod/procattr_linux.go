package pod

import "syscall"

// groupAttr puts a replica (or its preStop hook) in its own process group,
// and has the kernel kill it should the drill itself die.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
