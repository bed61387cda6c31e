package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lameduck-dev/lameduck/internal/prestop"
)

func newPrestopCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prestop sleep|drain|signal",
		Short: "A preStop hook for images without a shell",
		Long: `A Kubernetes preStop hook that needs no shell, so it works in distroless and
scratch images (copy the lameduck binary into the image).

Kubernetes runs the preStop hook when the pod is deleted, at the same moment
it starts removing the pod from Service endpoints; SIGTERM is sent only when
the hook returns, and SIGKILL comes terminationGracePeriodSeconds after the
hook started. So the hook must finish well inside the grace period.

  sleep DURATION   wait, so load balancers stop sending requests before
                   the stop signal (like the native sleep action)
  drain            ask a lameduck service to drain now (GET /drain on its
                   admin server) and return once nothing is in flight, or at
                   --timeout; the drain delay then starts at T0
  signal           send a graceful-stop signal (QUIT for Unicorn, nginx) and,
                   with --wait, wait until the process and its workers are gone

Every action logs what it did to stderr, which Kubernetes shows in the pod's
events (kubectl describe pod) when the hook fails. Exit status 0 on success,
1 when the action failed (drain timed out, processes still running), 2 on
bad arguments.`,
		Example: `  lifecycle:
    preStop:
      exec:
        command: ["/lameduck", "prestop", "sleep", "5s"]

  command: ["/lameduck", "prestop", "drain", "--admin", "http://127.0.0.1:8081", "--timeout", "25s"]
  command: ["/lameduck", "prestop", "signal", "--pid", "1", "--signal", "QUIT", "--wait", "--timeout", "25s"]`,
	}
	// A typo in a preStop hook must fail loudly, not print help and exit 0.
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError("prestop: missing action (sleep, drain or signal); see lameduck prestop --help")
		}
		return usageError("prestop: unknown action %q (want sleep, drain or signal)", args[0])
	}
	cmd.AddCommand(newPrestopSleepCmd(), newPrestopDrainCmd(), newPrestopSignalCmd())
	return cmd
}

// prestopLogf logs to the command's stderr with a stable prefix.
func prestopLogf(cmd *cobra.Command) prestop.Logf {
	w := cmd.ErrOrStderr()
	return func(format string, args ...any) {
		fmt.Fprintf(w, "lameduck prestop: "+format+"\n", args...)
	}
}

// prestopContext is cancelled by SIGTERM or SIGINT (the kubelet kills a
// hook that outlives the grace period; an operator may press Ctrl-C).
func prestopContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
}

func prestopFailed(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	prestopLogf(cmd)("FAILED: %v", err)
	return &exitError{code: 1}
}

func newPrestopSleepCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "sleep DURATION",
		Short:   "Wait DURATION (Go syntax 10s, or plain seconds 10)",
		Example: `  lameduck prestop sleep 10s`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := prestop.ParseArgs([]string{prestop.ActionSleep, args[0]})
			if err != nil {
				return usageError("%v", err)
			}
			ctx, stop := prestopContext(cmd)
			defer stop()
			return prestopFailed(cmd, prestop.Sleep(ctx, c.Sleep, prestopLogf(cmd)))
		},
	}
}

func newPrestopDrainCmd() *cobra.Command {
	var c prestop.Command
	cmd := &cobra.Command{
		Use:   "drain [--admin URL] [--timeout 30s] [--token T]",
		Short: "Drain a lameduck service through its admin server and wait until nothing is in flight",
		Long: `Calls GET <admin>/drain?timeout=<timeout> on the lameduck admin server. The
service starts draining at once (readiness fails, the drain delay starts,
then listeners close and in-flight requests finish) and answers 200 when
nothing is in flight any more and nothing was cut off, 500 when its stop
budget cut requests or tasks off, or 504 at the timeout; only 200 exits 0.
Without a token the service accepts /drain from loopback only (this hook
runs inside the pod); with $LAMEDUCK_DRAIN_TOKEN set, pass the same token.

--admin defaults to $LAMEDUCK_ADMIN_ADDR (an exec hook runs with the
container's environment; ":8081" means http://127.0.0.1:8081), else
` + prestop.DefaultAdmin + `. --token defaults to $LAMEDUCK_DRAIN_TOKEN.`,
		Example: `  lameduck prestop drain --admin http://127.0.0.1:8081 --timeout 25s`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.Admin == "" {
				c.Admin = os.Getenv(prestop.EnvAdminAddr)
			}
			if c.Token == "" {
				c.Token = os.Getenv(prestop.EnvDrainToken)
			}
			if _, err := prestop.AdminURL(c.Admin); err != nil {
				return usageError("%v", err)
			}
			if c.Timeout <= 0 {
				return usageError("prestop drain: --timeout must be positive")
			}
			ctx, stop := prestopContext(cmd)
			defer stop()
			d := prestop.Drain{Admin: c.Admin, Token: c.Token, Timeout: c.Timeout}
			return prestopFailed(cmd, d.Run(ctx, prestopLogf(cmd)))
		},
	}
	c.DrainFlags(cmd.Flags())
	return cmd
}

func newPrestopSignalCmd() *cobra.Command {
	var c prestop.Command
	cmd := &cobra.Command{
		Use:   "signal [--pid 1] [--signal QUIT] [--wait] [--timeout 30s]",
		Short: "Send a graceful-stop signal and wait until the process and its workers are gone",
		Long: `Sends --signal to --pid. With --wait, waits until the process and every
descendant it had (found through /proc: Unicorn's or nginx's workers, even
after the master exits first) have exited, or fails at --timeout.`,
		Example: `  lameduck prestop signal --pid 1 --signal QUIT --wait --timeout 25s`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sig, err := prestop.ParseSignal(c.Signal)
			if err != nil {
				return usageError("%v", err)
			}
			if c.PID <= 0 {
				return usageError("prestop signal: --pid must be positive")
			}
			ctx, stop := prestopContext(cmd)
			defer stop()
			s := prestop.Signal{PID: c.PID, Signal: sig, Wait: c.Wait, Timeout: c.Timeout}
			return prestopFailed(cmd, s.Run(ctx, prestopLogf(cmd)))
		},
	}
	c.SignalFlags(cmd.Flags())
	return cmd
}
