package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lameduck-dev/lameduck/internal/chaoskill"
)

// newChaosAgentCmd is `lameduck chaos-agent`, the process of the drill's
// agent pod (internal/drill/kube: privileged, hostPID, on one node): it only
// waits, so that the drill can exec `lameduck chaos-kill` in it.
func newChaosAgentCmd() *cobra.Command {
	var deadline time.Duration
	cmd := &cobra.Command{
		Use:    "chaos-agent [--deadline 1h]",
		Short:  "Wait in the drill's chaos agent pod (internal; run by drill --kube --chaos)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if deadline <= 0 || deadline > 24*time.Hour {
				return usageError("chaos-agent: --deadline must be in (0, 24h], not %s", deadline)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			fmt.Fprintf(cmd.ErrOrStderr(), "chaos-agent: waiting for chaos-kill execs (at most %s)\n", deadline)
			select {
			case <-ctx.Done():
			case <-time.After(deadline):
				fmt.Fprintln(cmd.ErrOrStderr(), "chaos-agent: deadline passed")
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&deadline, "deadline", time.Hour, "exit after this long even if the drill never deletes the pod")
	return cmd
}

// newChaosKillCmd is `lameduck chaos-kill ID...`: SIGKILL to every process
// of the containers, one JSON line per container.
func newChaosKillCmd() *cobra.Command {
	var proc string
	cmd := &cobra.Command{
		Use:   "chaos-kill [--proc /proc] CONTAINER-ID...",
		Short: "SIGKILL the processes of containers by ID (internal; run by drill --kube --chaos)",
		Long: `Send SIGKILL to every process whose cgroup belongs to each container
(containerd://ID, cri-o://ID or the bare 64-hex ID), all containers at once,
as an OOM kill or a lost node does: no stop signal, no preStop, no grace.
It must run in the host's PID namespace (the drill's agent pod has
hostPID): from inside a container's own PID namespace its PID 1 ignores
SIGKILL. Prints one JSON line per container: {"container","pids","at","error"}.

Exit status: 0 when every container had a process killed, 1 otherwise,
2 on bad arguments.`,
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if _, err := chaoskill.ParseID(a); err != nil {
					return usageError("chaos-kill: %v", err)
				}
			}
			res, err := chaoskill.Kill(proc, args)
			if err != nil {
				return usageError("chaos-kill: %v", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			failed := 0
			for _, r := range res {
				if r.Err != "" {
					failed++
				}
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("chaos-kill: %d of %d containers not killed", failed, len(res))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&proc, "proc", "/proc", "the proc filesystem to search (the host's, with hostPID)")
	return cmd
}
