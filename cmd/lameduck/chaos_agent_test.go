package main

import (
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/lameduck-dev/lameduck/internal/chaoskill"
)

// TestChaosKillCLI: bad IDs exit 2 before anything is signalled; a
// well-formed ID with no process on this machine exits 1 with a JSON line
// that says so (the drill reads these lines from the agent pod's exec).
// The kill itself is tested on a real cgroup in internal/chaoskill.
func TestChaosKillCLI(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, args := range [][]string{{}, {"abc"}, {"containerd://" + strings.Repeat("g", 64)}} {
		if code, _, stderr := runCLI(t, "", append([]string{"chaos-kill"}, args...)...); code != 2 {
			t.Errorf("chaos-kill %v: exit %d (%s), want 2", args, code, stderr)
		}
	}
	id := strings.Repeat("0f", 32)
	code, stdout, stderr := runCLI(t, "", "chaos-kill", "containerd://"+id)
	var r chaoskill.Result
	if code != 1 || json.Unmarshal([]byte(stdout), &r) != nil || r.Container != id || r.Err == "" || len(r.PIDs) != 0 {
		t.Errorf("chaos-kill of a container that does not run here: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, _ := runCLI(t, "", "chaos-agent", "--deadline", "10ms"); code != 0 {
		t.Errorf("chaos-agent --deadline 10ms: exit %d", code)
	}
	if code, _, _ := runCLI(t, "", "chaos-agent", "--deadline", "0s"); code != 2 {
		t.Errorf("chaos-agent --deadline 0s: exit %d, want 2", code)
	}
}
