//go:build unix && !linux

package pod

import "syscall"

// groupAttr puts a replica (or its preStop hook) in its own process group.
// Outside Linux there is no parent-death signal: the drill's own cleanup
// (signal handling, deferred kills) is what stops replicas.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
