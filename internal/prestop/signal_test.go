//go:build linux

package prestop

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Roles of the re-executed test binary (see TestMain).
const roleEnv = "PRESTOP_TEST_ROLE"

// runRole runs the test binary as a helper process and reports whether it did.
func runRole() bool {
	dir := os.Getenv("PRESTOP_TEST_DIR")
	switch os.Getenv(roleEnv) {
	case "master":
		// Like a Unicorn master: on QUIT, pass QUIT to the worker and exit
		// at once, leaving the slow worker behind (orphaned).
		quit := make(chan os.Signal, 1)
		signal.Notify(quit, syscall.SIGQUIT)
		w := exec.Command(os.Args[0], "-test.run=^$")
		w.Env = append(os.Environ(), roleEnv+"=worker")
		out, _ := w.StdoutPipe()
		if err := w.Start(); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		fmt.Printf("ready worker=%d %s", w.Process.Pid, line)
		<-quit
		_ = w.Process.Signal(syscall.SIGQUIT)
		_ = os.WriteFile(filepath.Join(dir, "master-done"), nil, 0o644)
		os.Exit(0)
	case "worker":
		// Handles QUIT slowly: finishes its "request" first.
		quit := make(chan os.Signal, 1)
		signal.Notify(quit, syscall.SIGQUIT)
		fmt.Println("ok")
		<-quit
		time.Sleep(700 * time.Millisecond)
		_ = os.WriteFile(filepath.Join(dir, "worker-done"), nil, 0o644)
		os.Exit(0)
	case "app":
		runApp()
	case "stubborn":
		signal.Ignore(syscall.SIGQUIT)
		fmt.Println("ready")
		time.Sleep(time.Minute)
		os.Exit(0)
	default:
		return false
	}
	return true
}

// startRole starts the test binary in role and waits for its "ready" line.
func startRole(t *testing.T, role, dir string) (*exec.Cmd, string, <-chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, "PRESTOP_TEST_DIR="+dir)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		lines <- l
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not become ready", role)
	}
	if !strings.HasPrefix(line, "ready") {
		t.Fatalf("%s: unexpected first line %q", role, line)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, line, exited
}

type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestSignalWaitsForOrphanedWorker(t *testing.T) {
	dir := t.TempDir()
	cmd, line, exited := startRole(t, "master", dir)
	var log logBuf
	err := Signal{PID: cmd.Process.Pid, Signal: syscall.SIGQUIT, Wait: true, Timeout: 15 * time.Second}.Run(context.Background(), log.logf)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log.String())
	}
	// The worker exits 700ms after the master; Run must have waited for it.
	for _, f := range []string{"master-done", "worker-done"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("Run returned before %s: %v\nlog:\n%s", f, err, log.String())
		}
	}
	if !strings.Contains(log.String(), "waiting up to 15s for 2 process(es)") {
		t.Errorf("log does not show the worker was found (%s):\n%s", line, log.String())
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("master not reaped")
	}
}

func TestSignalTimeoutWhenIgnored(t *testing.T) {
	cmd, _, exited := startRole(t, "stubborn", t.TempDir())
	var log logBuf
	err := Signal{PID: cmd.Process.Pid, Signal: syscall.SIGQUIT, Wait: true, Timeout: 300 * time.Millisecond}.Run(context.Background(), log.logf)
	if err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("Run = %v, want a still-running error", err)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("stubborn child not reaped")
	}
}

func TestSignalNoSuchProcess(t *testing.T) {
	// A pid that is certainly not running: a child that has been reaped.
	c := exec.Command(os.Args[0], "-test.run=^$")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	err := Signal{PID: c.Process.Pid, Signal: syscall.SIGQUIT}.Run(context.Background(), func(string, ...any) {})
	if err == nil {
		t.Fatal("signalling a reaped pid succeeded")
	}
}

func TestProcStat(t *testing.T) {
	ppid, state, start, err := stat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if ppid != os.Getppid() || state == 'Z' || start == 0 {
		t.Errorf("stat(self) = ppid %d state %c start %d; want ppid %d", ppid, state, start, os.Getppid())
	}
}
