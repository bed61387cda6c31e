//go:build unix && !linux

package redistest

import "syscall"

// groupAttr: its own process group (no parent-death signal outside Linux;
// the test's cleanup stops the server).
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
