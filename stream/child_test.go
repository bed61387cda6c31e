package stream_test

import (
	"bufio"
	"bytes"
	"encoding/json"
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

// childEnv marks a re-executed test binary that runs a service instead of
// the tests.
const childEnv = "LAMEDUCK_STREAM_TEST_CHILD"

// Budgets of the child services: total 3.5s (grace 4s − kill margin 0.5s),
// drain delay 0.3s, flush 0.2s, close 0.3s, so Stopping may last 2.7s.
var childBudget = []string{
	"LAMEDUCK_GRACE_PERIOD=4s", "LAMEDUCK_KILL_MARGIN=500ms", "LAMEDUCK_DRAIN_DELAY=300ms",
	"LAMEDUCK_FLUSH_TIMEOUT=200ms", "LAMEDUCK_CLOSE_TIMEOUT=300ms",
}

// grace is LAMEDUCK_GRACE_PERIOD: SIGKILL would come this long after SIGTERM.
const grace = 4 * time.Second

// child is a service process: the test binary re-executed.
type child struct {
	t      testing.TB
	cmd    *exec.Cmd
	addr   string // host:port of the service
	stderr lockedBuffer
	exited chan struct{} // closed when the process has exited
	code   int
	at     time.Time // when it exited
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startChild runs the service and waits until it serves.
func startChild(t testing.TB, extraEnv ...string) *child {
	t.Helper()
	c := &child{t: t, exited: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(append(append(os.Environ(), childEnv+"=1"), childBudget...), extraEnv...)
	// The race detector sleeps 1s at exit by default; the exit time matters here.
	c.cmd.Env = append(c.cmd.Env, "GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"))
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- a
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		err := c.cmd.Wait()
		c.at = time.Now()
		c.code = c.cmd.ProcessState.ExitCode()
		if err != nil && c.code < 0 {
			c.code = -1
		}
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("child stderr:\n%s", c.stderr.String())
		}
	})
	select {
	case c.addr = <-ready:
	case <-c.exited:
		t.Fatalf("child exited with %d before serving:\n%s", c.code, c.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("child not ready after 20s:\n%s", c.stderr.String())
	}
	return c
}

// term sends SIGTERM and returns when it was sent.
func (c *child) term() time.Time {
	c.t.Helper()
	at := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	return at
}

// wait waits for the exit and returns the exit code and how long after
// since it came.
func (c *child) wait(since time.Time, limit time.Duration) (int, time.Duration) {
	c.t.Helper()
	select {
	case <-c.exited:
		return c.code, c.at.Sub(since)
	case <-time.After(limit):
		c.t.Fatalf("child still running %v after SIGTERM", limit)
		return 0, 0
	}
}

// records returns the child's JSON log records with the given message.
func (c *child) records(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(c.stderr.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// stillRunning returns "kind name" of every "lameduck: still running" record.
func (c *child) stillRunning() []string {
	var out []string
	for _, r := range c.records("lameduck: still running") {
		out = append(out, fmt.Sprintf("%v %v", r["kind"], r["name"]))
	}
	return out
}
