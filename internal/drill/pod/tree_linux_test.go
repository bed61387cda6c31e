package pod

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// treeScript starts, besides the command itself (an exec'd sleep), a
// background child, a setsid'd one, a double-forked one and a setsid'd
// double-forked one: five sleeps per replica, each with marker in its
// command line.
func treeScript(marker string) string {
	return fmt.Sprintf(`sleep %[1]s &
setsid sleep %[1]s &
sh -c 'sleep %[1]s &'
setsid sh -c 'sleep %[1]s & exit 0'
exec sleep %[1]s`, marker)
}

const sleepsPerTree = 5

// newMarker returns a sleep duration no other process on the machine has
// in its command line.
func newMarker() string {
	return fmt.Sprintf("3600.%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
}

// markedProcs returns the live (not zombie) processes whose command line
// holds marker, and how many of them are sleeps.
func markedProcs(t *testing.T, marker string) (pids []int, sleeps int) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), marker) {
			continue
		}
		if _, state, ok := readStat(pid); !ok || state == 'Z' || state == 'X' {
			continue
		}
		pids = append(pids, pid)
		if strings.HasPrefix(string(cmdline), "sleep\x00") {
			sleeps++
		}
	}
	return pids, sleeps
}

// killMarked kills whatever a failed test left behind.
func killMarked(t *testing.T, marker string) {
	pids, _ := markedProcs(t, marker)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// waitSleeps waits until want marked sleeps run.
func waitSleeps(t *testing.T, marker string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, sleeps := markedProcs(t, marker)
		if sleeps == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d marked sleeps run, want %d", sleeps, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitNoneLeft waits until no marked process is alive.
func waitNoneLeft(t *testing.T, marker, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pids, _ := markedProcs(t, marker)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, pid := range pids {
				cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
				fmt.Fprintf(&b, "\n  %d: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
			}
			t.Fatalf("%s: %d processes of the replicas' trees still run 20s later:%s", what, len(pids), b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idleProbe never probes within a test's time.
var idleProbe = Probe{Kind: "tcp", InitialDelay: time.Hour, Period: time.Hour, Timeout: time.Second, SuccessThreshold: 1, FailureThreshold: 1}

func init() {
	if os.Getenv("POD_TEST_DRILL") != "" {
		drillLike()
	}
}

// drillLike is the body of the test binary run with POD_TEST_DRILL set: a
// drill-like parent that starts two replicas whose commands spawn detached
// processes, says "started", and waits to be killed.
func drillLike() {
	marker := os.Getenv("POD_TEST_DRILL")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "POD_TEST_DRILL=") {
			env = append(env, kv)
		}
	}
	for i := range 2 {
		_, err := Start(Spec{Name: "r0-" + strconv.Itoa(i), Argv: []string{"/bin/sh", "-c", treeScript(marker)}, Env: env, Probe: idleProbe, Grace: time.Second, Epoch: time.Now()})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
	fmt.Println("started")
	time.Sleep(time.Hour)
	os.Exit(0)
}

// The drill is SIGKILLed: nothing of its replicas survives, neither the
// commands nor the processes they detached with setsid or a double fork.
func TestNothingSurvivesSIGKILLedDrill(t *testing.T) {
	marker := newMarker()
	t.Cleanup(func() { killMarked(t, marker) })
	drill := exec.Command(os.Args[0])
	drill.Env = append(os.Environ(), "POD_TEST_DRILL="+marker)
	drill.Stderr = os.Stderr
	out, err := drill.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := drill.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "started\n" {
		_ = drill.Process.Kill()
		_ = drill.Wait()
		t.Fatalf("drill-like parent said %q, want started", line)
	}
	waitSleeps(t, marker, 2*sleepsPerTree)
	if err := drill.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = drill.Wait()
	waitNoneLeft(t, marker, "drill SIGKILLed")
}

// Kill (the drill's cleanup) reaps the whole tree as well.
func TestKillReapsTree(t *testing.T) {
	marker := newMarker()
	t.Cleanup(func() { killMarked(t, marker) })
	p, err := Start(Spec{Name: "r0-1", Argv: []string{"/bin/sh", "-c", treeScript(marker)}, Env: os.Environ(), Probe: idleProbe, Grace: time.Second, Epoch: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	waitSleeps(t, marker, sleepsPerTree)
	p.Kill()
	// Done means nothing is left: no wait.
	if pids, _ := markedProcs(t, marker); len(pids) != 0 {
		t.Fatalf("after Kill returned, %d processes of the tree still run", len(pids))
	}
	if lc := p.Lifecycle(); lc.ExitSignal != "SIGKILL" || lc.ExitCode != -1 || !lc.StoppedAtEnd {
		t.Fatalf("lifecycle %+v: want killed by SIGKILL, stopped at the end", lc)
	}
}

// A replica that exits on its stop signal while a process it detached
// keeps its stdout open exits cleanly: the exit is not taken from the
// output pipe (which would make it look SIGKILLed at the grace deadline).
func TestExitNotTiedToOutput(t *testing.T) {
	marker := newMarker()
	t.Cleanup(func() { killMarked(t, marker) })
	script := fmt.Sprintf(`setsid sleep %s &
echo serving
trap 'echo bye; exit 0' TERM
while :; do sleep 0.05; done`, marker)
	p, err := Start(Spec{Name: "r0-1", Argv: []string{"/bin/sh", "-c", script}, Env: os.Environ(), Probe: idleProbe, Grace: 60 * time.Second, Epoch: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	waitSleeps(t, marker, 1)
	p.Terminate()
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		p.Kill()
		t.Fatalf("no exit 30s after SIGTERM (grace 60s); output: %s", p.Output())
	}
	lc := p.Lifecycle()
	if lc.ExitCode != 0 || lc.ExitSignal != "" || lc.Killed != 0 {
		t.Fatalf("exit code %d, signal %q, SIGKILL at %v: want a clean exit on SIGTERM", lc.ExitCode, lc.ExitSignal, lc.Killed)
	}
	if lc.Exited < lc.SignalSent {
		t.Fatalf("exited at %v, before the signal at %v", lc.Exited, lc.SignalSent)
	}
	if !strings.Contains(lc.Output, "serving\n") || !strings.Contains(lc.Output, "bye\n") {
		t.Fatalf("output %q: want both lines", lc.Output)
	}
	// The detached process died with the replica, as in a container.
	if pids, _ := markedProcs(t, marker); len(pids) != 0 {
		t.Fatalf("%d processes of the replica outlived it", len(pids))
	}
}

// Exit codes and signals are reported as the command's own, not the
// supervisor's.
func TestExitStatusReported(t *testing.T) {
	for _, tc := range []struct {
		script string
		code   int
		signal string
	}{
		{"exit 7", 7, ""},
		{"exit 0", 0, ""},
		{"kill -USR1 $$", -1, "SIGUSR1"},
		{"kill -QUIT $$", -1, "SIGQUIT"},
		{"kill -KILL $$", -1, "SIGKILL"},
	} {
		// What the command printed last is in the output by the time its
		// exit is reported.
		var mu sync.Mutex
		var tailAtExit string
		onChange := func(p *Pod) {
			if _, _, _, _, exited := p.State(); exited {
				mu.Lock()
				tailAtExit = p.Lifecycle().Output
				mu.Unlock()
			}
		}
		p, err := Start(Spec{Name: "r0-1", Argv: []string{"/bin/sh", "-c", "echo last words; " + tc.script}, Env: os.Environ(), Probe: idleProbe, Epoch: time.Now(), OnChange: onChange})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.Done():
		case <-time.After(20 * time.Second):
			p.Kill()
			t.Fatalf("%q: no exit", tc.script)
		}
		lc := p.Lifecycle()
		if lc.ExitCode != tc.code || lc.ExitSignal != tc.signal || !lc.Unexpected {
			t.Errorf("%q: exit code %d, signal %q, unexpected %v; want %d, %q, true", tc.script, lc.ExitCode, lc.ExitSignal, lc.Unexpected, tc.code, tc.signal)
		}
		mu.Lock()
		if tailAtExit != "last words\n" {
			t.Errorf("%q: output at the exit %q, want %q", tc.script, tailAtExit, "last words\n")
		}
		mu.Unlock()
	}
}
