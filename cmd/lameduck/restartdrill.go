package main

import (
	"time"

	"github.com/lameduck-dev/lameduck/internal/hostdrill"
	"github.com/spf13/cobra"
)

// newRestartDrillCmd is "lameduck restart-drill": restarts outside
// Kubernetes. Its "serve" subcommand is the demo service it restarts (and
// what deploy/systemd runs).
func newRestartDrillCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restart-drill",
		Short: "Restarts outside Kubernetes: systemd socket activation and in-place upgrades",
		Long: `Restarts outside Kubernetes (docs/systemd.md).

  lameduck restart-drill serve   the demo counter service: socket-activated under
                                 systemd (socket "http"), upgraded in place on SIGHUP,
                                 sd_notify of its phases; PORT, REDIS_ADDR, LAMEDUCK_*`,
		Args: cobra.NoArgs,
	}
	var delay time.Duration
	serve := &cobra.Command{
		Use:   "serve [--delay 100ms]",
		Short: "Run the demo counter service (socket activation, SIGHUP upgrade, sd_notify)",
		Long: `Run the demo counter service: POST /incr answers 200 and increments the Redis
key "counter" at REDIS_ADDR after --delay, tracked by lameduck. It serves the
socket named "http" inherited from systemd or from the process it replaces,
else 127.0.0.1:$PORT. SIGHUP upgrades it in place (the new process inherits
the socket; the old one drains).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if delay < 0 {
				return usageError("restart-drill serve: --delay must not be negative, got %v", delay)
			}
			if code := hostdrill.Serve(delay); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	serve.Flags().DurationVar(&delay, "delay", 100*time.Millisecond, "delay between the 200 OK and the increment")
	cmd.AddCommand(serve)
	return cmd
}
