package grpclameduck_test

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/lameducktest"
)

// Budgets of the child services: total 3.5s (grace 4s − kill margin 0.5s),
// drain delay 0.3s, flush 0.2s, close 0.3s, so Stopping may last 2.7s.
var childBudget = []string{
	"LAMEDUCK_GRACE_PERIOD=4s", "LAMEDUCK_KILL_MARGIN=500ms", "LAMEDUCK_DRAIN_DELAY=300ms",
	"LAMEDUCK_FLUSH_TIMEOUT=200ms", "LAMEDUCK_CLOSE_TIMEOUT=300ms",
}

// grace is LAMEDUCK_GRACE_PERIOD: SIGKILL would come this long after SIGTERM.
const grace = 4 * time.Second

// child is a service process: the test binary re-executed (runChild).
type child struct {
	*lameducktest.Process
	t    *testing.T
	grpc string // host:port of the gRPC server
	http string // host:port of the HTTP server (admin endpoints)
}

// startChild runs the service and waits until it serves.
func startChild(t *testing.T, extraEnv ...string) *child {
	t.Helper()
	// The race detector sleeps 1s at exit by default; the exit time matters here.
	env := append(append([]string{"GORACE=atexit_sleep_ms=0 " + os.Getenv("GORACE")}, childBudget...), extraEnv...)
	c := &child{Process: lameducktest.Start(t, "grpc-service", env...), t: t}
	line := c.WaitLine("READY ")
	if _, err := fmt.Sscanf(line, "READY grpc=%s http=%s", &c.grpc, &c.http); err != nil {
		t.Fatalf("READY %q: %v", line, err)
	}
	return c
}

// term sends SIGTERM and returns when it was sent.
func (c *child) term() time.Time { return c.Signal(syscall.SIGTERM) }

// wait waits for the exit and returns the exit code and how long after
// since it came.
func (c *child) wait(since time.Time, limit time.Duration) (int, time.Duration) {
	c.t.Helper()
	code := c.Wait(limit)
	return code, c.ExitedAt().Sub(since)
}

// stillRunning returns "kind name" of every "lameduck: still running" record.
func (c *child) stillRunning() []string { return c.StillRunning() }
