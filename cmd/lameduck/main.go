package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries an exit code out of a subcommand; only main exits.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks a usage or setup error (exit code 2).
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "lameduck",
		Short: "Graceful shutdown and zero-downtime rollouts for Go services on Kubernetes",
		Long: `lameduck proves and configures graceful shutdown.

  lameduck drill      run replicas of a service behind a kube-proxy-like balancer,
                      roll them under constant load, count every lost request
  lameduck lint       check the termination time budget of Kubernetes manifests
  lameduck prestop    a preStop hook for images without a shell
  lameduck demo       the demo counter service (naive or with lameduck)
  lameduck restart-drill  restarts on one host: plain vs socket activation vs upgrade
  lameduck report     render a saved drill result as HTML, JUnit XML or Markdown
  lameduck load       the drill's load alone (what drill --kube runs in a pod)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDrillCmd(), newLintCmd(), newPrestopCmd(), newDemoCmd(), newRestartDrillCmd(), newReportCmd(), newLoadCmd(), newChaosAgentCmd(), newChaosKillCmd())
	return root
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI with args and returns the process exit code.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "lameduck:", ee.err)
		}
		return ee.code
	}
	// Errors from cobra itself (unknown flag, bad arguments) are usage errors.
	fmt.Fprintln(os.Stderr, "lameduck:", err)
	return 2
}
