// Package lameducktest helps test a service's shutdown the way it happens in
// production: as a real process that receives a real signal. The usual
// pattern re-executes the test binary as the service:
//
//	func TestMain(m *testing.M) {
//		lameducktest.RunChild(map[string]func() int{"service": serviceMain})
//		os.Exit(m.Run())
//	}
//
//	func TestSIGTERM(t *testing.T) {
//		p := lameducktest.Start(t, "service", "LAMEDUCK_DRAIN_DELAY=0")
//		addr := strings.TrimPrefix(p.WaitLine("listening "), "listening ")
//		p.WaitPhase("Serving") // the signal handler is installed
//		// … send requests to addr …
//		p.Signal(syscall.SIGTERM)
//		if code := p.Wait(10 * time.Second); code != 0 { t.Fatal(code) }
//		t.Log(p.Phases()) // [Serving Draining Stopping Flushing Closing Stopped]
//	}
//
// The service logs with slog's JSON handler to stderr; Records, Phases and
// StillRunning read lameduck's records from it. The package imports only the
// standard library and lameduck.
package lameducktest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvChild names the child to run in a re-executed test binary.
const EnvChild = "LAMEDUCKTEST_CHILD"

// RunChild runs the child named by $LAMEDUCKTEST_CHILD and exits with its
// code; it returns at once (doing nothing) in the test process itself. Call
// it first in TestMain.
func RunChild(children map[string]func() int) {
	name := os.Getenv(EnvChild)
	if name == "" {
		return
	}
	main, ok := children[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "lameducktest: no child %q\n", name)
		os.Exit(2)
	}
	os.Exit(main())
}

// Process is a service under test running as a real process.
type Process struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr *LogBuffer
	lines  chan string
	exited chan struct{}
	code   int
	at     time.Time // when it exited
}

// Start re-executes the test binary as child name (see RunChild) with env
// added to the current environment, and stops it (SIGKILL) when the test
// ends if it is still running. The child's stderr is logged if the test
// failed. The LAMEDUCK_* and KUBERNETES_SERVICE_HOST variables of the
// test's own environment are not passed on, so only env configures the
// child's shutdown, whoever runs the tests.
func Start(t testing.TB, name string, env ...string) *Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LAMEDUCK_") && !strings.HasPrefix(kv, "KUBERNETES_SERVICE_HOST=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, EnvChild+"="+name), env...)
	return StartCommand(t, cmd)
}

// StartCommand starts cmd as the service under test (its Stdout and Stderr
// must be unset) and stops it when the test ends.
func StartCommand(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{t: t, cmd: cmd, stderr: &LogBuffer{}, lines: make(chan string, 64), exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("lameducktest: start %s: %v", cmd.Path, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody is reading stdout lines this far ahead
			}
		}
		err := cmd.Wait()
		p.at = time.Now()
		p.code = cmd.ProcessState.ExitCode()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = 128 + int(ws.Signal()) // as a shell reports it
			}
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("lameducktest: %s stderr:\n%s", cmd.Path, p.stderr.String())
		}
	})
	return p
}

// WaitLine waits up to 20s for a line of the child's stdout that starts
// with prefix and returns it. It fails the test if the child exits first.
func (p *Process) WaitLine(prefix string) string {
	p.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line := <-p.lines:
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-p.exited:
			p.t.Fatalf("lameducktest: child exited with %d before printing %q:\n%s", p.code, prefix, p.stderr.String())
		case <-timeout:
			p.t.Fatalf("lameducktest: no line %q from the child after 20s:\n%s", prefix, p.stderr.String())
		}
	}
}

// WaitPhase waits up to 20s until the child has logged entering phase (for
// example "Serving": only then is its signal handler installed, so a
// SIGTERM starts the shutdown instead of killing it). It fails the test if
// the child exits first.
func (p *Process) WaitPhase(phase string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, ph := range p.Phases() {
			if ph == phase {
				return
			}
		}
		select {
		case <-p.exited:
			p.t.Fatalf("lameducktest: child exited with %d before entering %s:\n%s", p.code, phase, p.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("lameducktest: child not in %s after 20s:\n%s", phase, p.stderr.String())
		}
	}
}

// Signal sends sig to the child and returns when it was sent.
func (p *Process) Signal(sig os.Signal) time.Time {
	p.t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("lameducktest: signal %v: %v", sig, err)
	}
	return at
}

// Wait waits up to limit for the child to exit and returns its exit code
// (128+signal if a signal killed it). It fails the test at the limit.
func (p *Process) Wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(limit):
		p.t.Fatalf("lameducktest: child still running after %v:\n%s", limit, p.stderr.String())
		return -1
	}
}

// Exited returns a channel closed when the child has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitedAt returns when the child exited (after Exited is closed).
func (p *Process) ExitedAt() time.Time { <-p.exited; return p.at }

// Pid returns the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stderr returns the child's log so far.
func (p *Process) Stderr() *LogBuffer { return p.stderr }

// Records returns the child's JSON log records whose message is msg (all
// records if msg is empty).
func (p *Process) Records(msg string) []Record { return p.stderr.Records(msg) }

// Phases returns the phases the child logged entering, in order.
func (p *Process) Phases() []string { return p.stderr.Phases() }

// StillRunning returns "kind name" for each "lameduck: still running"
// record: what the child cut off when its stop budget ran out.
func (p *Process) StillRunning() []string { return p.stderr.StillRunning() }

// Record is one JSON log record.
type Record map[string]any

// LogBuffer is an io.Writer safe for concurrent use that keeps everything
// written to it, for a slog handler in tests.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Records parses the JSON lines written so far and returns those whose
// "msg" is msg (every record if msg is empty). Other lines are skipped.
func (l *LogBuffer) Records(msg string) []Record {
	var out []Record
	for _, line := range strings.Split(l.String(), "\n") {
		var r Record
		if json.Unmarshal([]byte(line), &r) == nil && (msg == "" || r["msg"] == msg) {
			out = append(out, r)
		}
	}
	return out
}

// Phases returns the phases logged ("lameduck: phase" records), in order.
func (l *LogBuffer) Phases() []string {
	var out []string
	for _, r := range l.Records("lameduck: phase") {
		out = append(out, fmt.Sprint(r["phase"]))
	}
	return out
}

// StillRunning returns "kind name" of every "lameduck: still running" record.
func (l *LogBuffer) StillRunning() []string {
	var out []string
	for _, r := range l.Records("lameduck: still running") {
		out = append(out, fmt.Sprintf("%v %v", r["kind"], r["name"]))
	}
	return out
}

var _ io.Writer = (*LogBuffer)(nil)
