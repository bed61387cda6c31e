// Package chaoskill SIGKILLs the processes of containers, found by their
// container ID in /proc/PID/cgroup, the way an OOM kill or a lost node ends
// them: no stop signal, no preStop hook, no grace period. It is what
// `lameduck chaos-kill` runs inside the drill's agent pod (privileged,
// hostPID, on the victim's node) for `lameduck drill --kube --chaos`.
//
// It needs the host's PID namespace: signalled from inside its own PID
// namespace, a container's PID 1 ignores SIGKILL. Linux only.
package chaoskill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Result is what one container's kill did.
type Result struct {
	// Container is the container ID (64 hex digits).
	Container string `json:"container"`
	// PIDs are the processes (host PIDs) that got SIGKILL.
	PIDs []int `json:"pids"`
	// At is when the signals were sent (this machine's clock).
	At time.Time `json:"at"`
	// Err says why nothing was killed ("" on success).
	Err string `json:"error,omitempty"`
}

// ParseID returns the bare container ID of a container status' containerID
// ("containerd://ID", "cri-o://ID", "docker://ID" or ID). It must be 64
// lowercase hex digits: a shorter string could match other containers'
// cgroups.
func ParseID(s string) (string, error) {
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	if len(s) != 64 {
		return "", fmt.Errorf("container ID %q: want 64 hex digits", s)
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("container ID %q: want 64 lowercase hex digits", s)
		}
	}
	return s, nil
}

// Find returns the PIDs, under procRoot (normally /proc), whose cgroup
// path names the container: a path component equal to the ID (cgroupfs
// driver: .../pod<UID>/<ID>) or ending in -<ID>.scope (systemd driver:
// cri-containerd-<ID>.scope, crio-<ID>.scope, docker-<ID>.scope).
func Find(procRoot, id string) ([]int, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "cgroup"))
		if err != nil {
			continue // exited meanwhile, or not ours to read
		}
		if inContainer(string(b), id) {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids, nil
}

// inContainer reports whether a /proc/PID/cgroup text names the container.
func inContainer(cgroup, id string) bool {
	for line := range strings.SplitSeq(cgroup, "\n") {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, comp := range strings.Split(parts[2], "/") {
			if comp == id || strings.HasSuffix(comp, "-"+id+".scope") {
				return true
			}
		}
	}
	return false
}

// Kill SIGKILLs every process of each container (found with Find under
// procRoot), all containers at once: the processes of every container are
// found first, then signalled in one pass. A container with no process
// gets a Result with Err set; the error returned is for procRoot itself.
func Kill(procRoot string, ids []string) ([]Result, error) {
	out := make([]Result, len(ids))
	for i, id := range ids {
		out[i].Container = id
		bare, err := ParseID(id)
		if err != nil {
			out[i].Err = err.Error()
			continue
		}
		out[i].Container = bare
		pids, err := Find(procRoot, bare)
		if err != nil {
			return nil, err
		}
		if len(pids) == 0 {
			out[i].Err = "no process in this container's cgroup (not running on this node?)"
		}
		out[i].PIDs = pids
	}
	now := time.Now()
	for i := range out {
		var killed []int
		var errs []error
		for _, pid := range out[i].PIDs {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				if !errors.Is(err, syscall.ESRCH) {
					errs = append(errs, fmt.Errorf("pid %d: %w", pid, err))
				}
				continue
			}
			killed = append(killed, pid)
		}
		out[i].PIDs, out[i].At = killed, now
		if len(errs) > 0 {
			out[i].Err = errors.Join(errs...).Error()
		} else if len(killed) == 0 && out[i].Err == "" {
			out[i].Err = "its processes were gone before the signal"
		}
	}
	return out, nil
}
