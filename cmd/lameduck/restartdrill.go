package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/hostdrill"
	"github.com/lameduck-dev/lameduck/upgrade"
	"github.com/spf13/cobra"
)

// newRestartDrillCmd is "lameduck restart-drill": restarts outside
// Kubernetes. Its "serve" subcommand is the demo service it restarts (and
// what deploy/systemd runs).
func newRestartDrillCmd() *cobra.Command {
	var (
		modes                  string
		rate, workers, restart int
		runs                   int
		interval, timeout      time.Duration
		drainDelay, demoDelay  time.Duration
		upgradeDrain           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "restart-drill [flags] [-- COMMAND ARGS...]",
		Short: "Restart or upgrade a service on one host under load: naive restart vs socket activation vs in-place upgrade",
		Long: `Restart or upgrade a service on one host repeatedly under constant load, the way
systemd would, and count every failed request and lost acknowledged write, for
each way of restarting side by side (docs/systemd.md):

  restart     SIGTERM, wait for the exit, start a new process that binds the port
              itself (systemctl restart without a .socket unit)
  activation  the drill holds the listening socket, as systemd does for a .socket
              unit, and passes it to every new process (LISTEN_FDS)
  upgrade     SIGHUP: the service replaces itself in place (package upgrade): the
              new process inherits the socket, the old one drains

The drill plays systemd's part (a NOTIFY_SOCKET: READY=1, MAINPID=) and checks
acknowledged writes against an embedded Redis-protocol store. The service is
"lameduck restart-drill serve" unless a COMMAND is given after --; it must
serve POST /incr on the socket named "http" or 127.0.0.1:$PORT, increment
"counter" at $REDIS_ADDR, send READY=1 and upgrade itself on SIGHUP.

Exit status: 0 when the activation and upgrade modes that ran failed nothing
and lost nothing (the plain restart is expected to fail), 1 otherwise, 2 on
bad flags or a setup error.

  lameduck restart-drill serve   the demo counter service: socket-activated under
                                 systemd (socket "http"), upgraded in place on SIGHUP,
                                 sd_notify of its phases; PORT, REDIS_ADDR, LAMEDUCK_*`,
		Example: `  lameduck restart-drill
  lameduck restart-drill --mode upgrade --rate 500 --restarts 10 --runs 3`,
		RunE: func(c *cobra.Command, args []string) error {
			var ms []hostdrill.Mode
			if modes == "all" {
				ms = hostdrill.Modes
			} else {
				for _, m := range strings.Split(modes, ",") {
					switch hostdrill.Mode(m) {
					case hostdrill.Restart, hostdrill.Activation, hostdrill.Upgrade:
						ms = append(ms, hostdrill.Mode(m))
					default:
						return usageError("restart-drill: --mode must be all or a list of restart, activation, upgrade; got %q", m)
					}
				}
			}
			switch {
			case rate < 1 || rate > 10000:
				return usageError("restart-drill: --rate must be 1..10000 requests per second, got %d", rate)
			case workers < 1 || workers > 4096:
				return usageError("restart-drill: --workers must be 1..4096, got %d", workers)
			case restart < 1 || restart > 1000:
				return usageError("restart-drill: --restarts must be 1..1000, got %d", restart)
			case runs < 1 || runs > 100:
				return usageError("restart-drill: --runs must be 1..100, got %d", runs)
			case interval <= 0:
				return usageError("restart-drill: --interval must be positive, got %v", interval)
			case timeout <= 0:
				return usageError("restart-drill: --timeout must be positive, got %v", timeout)
			case drainDelay < 0 || demoDelay < 0 || upgradeDrain < 0:
				return usageError("restart-drill: --drain-delay, --upgrade-drain and --demo-delay must not be negative")
			}
			command := args
			if len(command) == 0 {
				exe, err := os.Executable()
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				command = []string{exe, "restart-drill", "serve", "--delay", demoDelay.String(), "--upgrade-drain", upgradeDrain.String()}
			}
			cfg := hostdrill.Config{
				Command: command, Rate: rate, Workers: workers, Restarts: restart,
				Interval: interval, Timeout: timeout,
				Env: []string{"LAMEDUCK_DRAIN_DELAY=" + drainDelay.String(), "LAMEDUCK_GRACE_PERIOD=15s"},
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := c.OutOrStdout()
			fmt.Fprintf(out, "restart-drill: %d restarts per run at %d req/s, %v apart, %d run(s) per mode, drain delay %v\n",
				restart, rate, interval, runs, drainDelay)
			var results []*hostdrill.Result
			clean := true
			for i := range runs {
				for _, m := range ms {
					fmt.Fprintf(c.ErrOrStderr(), "restart-drill: run %d/%d, mode %s…\n", i+1, runs, m)
					r, err := hostdrill.Run(ctx, cfg, m)
					if err != nil {
						return &exitError{code: 2, err: err}
					}
					results = append(results, r)
					if m != hostdrill.Restart && !r.Clean() {
						clean = false
					}
				}
			}
			hostdrill.WriteTable(out, results)
			if !clean {
				return &exitError{code: 1, err: fmt.Errorf("restart-drill: socket activation or upgrade failed requests or lost writes")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modes, "mode", "all", "all, or a comma-separated list of restart, activation, upgrade")
	f.IntVar(&rate, "rate", 200, "requests per second (1..10000)")
	f.IntVar(&workers, "workers", 256, "requests in flight at most (1..4096)")
	f.IntVar(&restart, "restarts", 5, "restarts (or upgrades) per run (1..1000)")
	f.IntVar(&runs, "runs", 1, "runs per mode (1..100)")
	f.DurationVar(&interval, "interval", time.Second, "time between restarts")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "client timeout per request")
	f.DurationVar(&drainDelay, "drain-delay", time.Second, "LAMEDUCK_DRAIN_DELAY of the service (restart and activation modes)")
	f.DurationVar(&upgradeDrain, "upgrade-drain", upgrade.DefaultDrain, "Draining of the old process in an upgrade (upgrade mode; 0 for none)")
	f.DurationVar(&demoDelay, "demo-delay", 100*time.Millisecond, "delay of the demo service's increment")
	var delay, serveUpgradeDrain time.Duration
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
			if serveUpgradeDrain < 0 {
				return usageError("restart-drill serve: --upgrade-drain must not be negative, got %v", serveUpgradeDrain)
			}
			d := serveUpgradeDrain
			if d == 0 {
				d = upgrade.NoDrain
			}
			if code := hostdrill.Serve(delay, d); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	serve.Flags().DurationVar(&delay, "delay", 100*time.Millisecond, "delay between the 200 OK and the increment")
	serve.Flags().DurationVar(&serveUpgradeDrain, "upgrade-drain", upgrade.DefaultDrain, "how long the old process drains when upgraded (0: none)")
	cmd.AddCommand(serve)
	return cmd
}
