//go:build unix

package prestop

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// proc identifies a process by pid and start time, so a reused pid is not
// mistaken for the process that was signalled.
type proc struct {
	pid   int
	start uint64
}

// stat reads the parent pid, state and start time from /proc/<pid>/stat.
func stat(pid int) (ppid int, state byte, start uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces
	// or parentheses itself: parse from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, 0, errors.New("malformed stat")
	}
	f := bytes.Fields(b[i+2:])
	// f[0] is field 3 (state), f[1] field 4 (ppid), f[19] field 22 (starttime).
	if len(f) < 20 {
		return 0, 0, 0, errors.New("malformed stat")
	}
	ppid, err = strconv.Atoi(string(f[1]))
	if err != nil {
		return 0, 0, 0, err
	}
	start, err = strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, 0, 0, err
	}
	return ppid, f[0][0], start, nil
}

// alive reports whether the process still runs: it exists, is not a zombie
// and has the same start time.
func (p proc) alive() bool {
	_, state, start, err := stat(p.pid)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil { // no /proc: ask the kernel
		return syscall.Kill(p.pid, 0) == nil
	}
	return state != 'Z' && state != 'X' && start == p.start
}

// processTree returns pid and all its live descendants. Without /proc it
// returns pid alone.
func processTree(pid int) []proc {
	_, _, start, err := stat(pid)
	if err != nil {
		if syscall.Kill(pid, 0) == nil {
			return []proc{{pid: pid}}
		}
		return nil
	}
	tree := []proc{{pid: pid, start: start}}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return tree
	}
	children := map[int][]proc{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, state, st, err := stat(n)
		if err != nil || state == 'Z' {
			continue
		}
		children[ppid] = append(children[ppid], proc{pid: n, start: st})
	}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i].pid]...)
	}
	return tree
}
