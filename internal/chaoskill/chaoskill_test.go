package chaoskill

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newID(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestParseID(t *testing.T) {
	id := newID(t)
	for _, in := range []string{id, "containerd://" + id, "cri-o://" + id, "docker://" + id} {
		if got, err := ParseID(in); err != nil || got != id {
			t.Errorf("ParseID(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "containerd://", id[:12], id + "0", "containerd://" + id[:63] + "G", "/"} {
		if _, err := ParseID(in); err == nil {
			t.Errorf("ParseID(%q): no error", in)
		}
	}
}

func TestInContainer(t *testing.T) {
	id := newID(t)
	cases := []struct {
		cgroup string
		want   bool
	}{
		{"8:pids:/kubepods/besteffort/pod93d51f96-8900-475f-ae2d-b5972ce0fbd4/" + id + "\n", true},
		{"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod93d5.slice/cri-containerd-" + id + ".scope\n", true},
		{"0::/../../pod93d5/" + id + "\n", true},
		{"0::/kubepods/pod93d5/" + id[:63] + "0\n", id[63] == '0'},
		{"0::/kubepods/pod93d5/x" + id + "\n", false},
		{"0::/\n", false},
		{"garbage", false},
	}
	for _, c := range cases {
		if got := inContainer(c.cgroup, id); got != c.want {
			t.Errorf("inContainer(%q) = %t, want %t", c.cgroup, got, c.want)
		}
	}
}

// cgroupDir creates a real cgroup whose last path component is id (as a
// container's is under the cgroupfs driver) and returns its directory.
func cgroupDir(t *testing.T, id string) string {
	base := "/sys/fs/cgroup/pids" // cgroup v1
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		base = "/sys/fs/cgroup" // cgroup v2
	}
	dir := filepath.Join(base, "lameduck-chaoskill-test", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("a real cgroup is needed (run as root, as scripts/test.sh does): %v", err)
	}
	t.Cleanup(func() {
		for range 50 {
			if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = os.Remove(filepath.Dir(dir))
	})
	return dir
}

// TestKillRealCgroup puts a shell and its background child into a real
// cgroup named by a container ID, leaves a sibling process outside it, and
// checks that Kill SIGKILLs exactly the two inside.
func TestKillRealCgroup(t *testing.T) {
	id := newID(t)
	dir := cgroupDir(t, id)
	inside := exec.Command("sh", "-c", "sleep 60 & wait")
	outside := exec.Command("sleep", "60")
	for _, c := range []*exec.Cmd{inside, outside} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer c.Process.Kill()
	}
	// The shell joins the cgroup, then its child is forked inside it.
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(inside.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Both the shell and the sleep it forks must be in the cgroup; the
	// fork may have happened before the move, so move its children too.
	var pids []int
	for range 100 {
		pids, _ = Find("/proc", id)
		if len(pids) >= 1 {
			kids, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(inside.Process.Pid), "task", strconv.Itoa(inside.Process.Pid), "children"))
			for _, f := range splitInts(string(kids)) {
				_ = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(f)), 0o644)
			}
			pids, _ = Find("/proc", id)
			if len(pids) == 2 {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(pids) != 2 {
		t.Fatalf("Find: %v, want the shell and its sleep", pids)
	}
	res, err := Kill("/proc", []string{"containerd://" + id, newID(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Err != "" || len(res[0].PIDs) != 2 || res[0].Container != id || res[0].At.IsZero() {
		t.Fatalf("Kill: %+v", res)
	}
	if res[1].Err == "" || len(res[1].PIDs) != 0 {
		t.Fatalf("a container with no process: %+v", res[1])
	}
	err = inside.Wait()
	ws, ok := inside.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the shell ended with %v, want SIGKILL", err)
	}
	for range 100 {
		if p, _ := Find("/proc", id); len(p) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p, _ := Find("/proc", id); len(p) != 0 {
		t.Fatalf("still in the cgroup after the kill: %v", p)
	}
	if err := outside.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process outside the cgroup was hit: %v", err)
	}
}

func splitInts(s string) []int {
	var out []int
	n, in := 0, false
	for _, c := range s + " " {
		if c >= '0' && c <= '9' {
			n, in = n*10+int(c-'0'), true
			continue
		}
		if in {
			out = append(out, n)
		}
		n, in = 0, false
	}
	return out
}
