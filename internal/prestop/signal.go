//go:build unix

package prestop

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// signals maps the names accepted by ParseSignal.
var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
	"KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
	"TERM": syscall.SIGTERM, "WINCH": syscall.SIGWINCH, "CONT": syscall.SIGCONT,
	"STOP": syscall.SIGSTOP, "TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU,
}

// ParseSignal accepts "QUIT", "SIGQUIT", "quit" or a number such as "3".
func ParseSignal(s string) (syscall.Signal, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	if sig, ok := signals[strings.TrimPrefix(name, "SIG")]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("prestop signal: unknown signal %q (want a name such as QUIT or a number)", s)
}

// Signal sends a signal to a process and, with Wait, waits until the
// process and every descendant it had (Unicorn's or nginx's workers) are
// gone. Descendants are found through /proc on Linux; elsewhere only the
// process itself is waited for.
type Signal struct {
	// PID is the process to signal (1: the container's main process).
	PID int
	// Signal is sent to PID.
	Signal syscall.Signal
	// Wait waits for PID and its descendants to exit.
	Wait bool
	// Timeout bounds the wait.
	Timeout time.Duration
	// Poll is the interval between checks. Default: 50ms.
	Poll time.Duration
}

// Run sends the signal and, with Wait, waits. It returns an error when the
// signal cannot be sent or the processes outlive the timeout.
func (s Signal) Run(ctx context.Context, logf Logf) error {
	if s.PID <= 0 {
		return fmt.Errorf("signal: invalid pid %d", s.PID)
	}
	before := processTree(s.PID)
	if err := syscall.Kill(s.PID, s.Signal); err != nil {
		return fmt.Errorf("signal: sending %v to pid %d: %w", s.Signal, s.PID, err)
	}
	if !s.Wait {
		logf("signal: sent %s to pid %d", sigName(s.Signal), s.PID)
		return nil
	}
	logf("signal: sent %s to pid %d; waiting up to %v for %d process(es) %v to exit", sigName(s.Signal), s.PID, s.Timeout, len(before), pids(before))
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSignalTimeout
	}
	poll := s.Poll
	if poll <= 0 {
		poll = 50 * time.Millisecond
	}
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	watched := before
	for {
		// Children forked after the signal count too; a process counts as
		// gone once it has exited (a zombie) or its pid was reused.
		for _, p := range processTree(s.PID) {
			if !slices.Contains(watched, p) {
				watched = append(watched, p)
			}
		}
		var alive []proc
		for _, p := range watched {
			if p.alive() {
				alive = append(alive, p)
			}
		}
		if len(alive) == 0 {
			logf("signal: pid %d and its descendants exited after %v", s.PID, time.Since(start).Round(time.Millisecond))
			return nil
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("signal: %d process(es) %v still running %v after %s", len(alive), pids(alive), timeout, sigName(s.Signal))
		case <-ctx.Done():
			return fmt.Errorf("signal: %d process(es) %v still running: %w", len(alive), pids(alive), context.Cause(ctx))
		}
	}
}

func sigName(s syscall.Signal) string {
	for name, sig := range signals {
		if sig == s {
			return "SIG" + name
		}
	}
	return "signal " + strconv.Itoa(int(s))
}

func pids(ps []proc) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.pid
	}
	return out
}
