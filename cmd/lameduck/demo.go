package main

import (
	"time"

	"github.com/lameduck-dev/lameduck/internal/demo"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var naive bool
	var delay time.Duration
	var protocol, variant, fault string
	cmd := &cobra.Command{
		Use:   "demo [--naive | --variant shutdown] [--delay 5s] [--protocol http|grpc]",
		Short: "Run the demo counter service (naive or with lameduck)",
		Long: `Run the demo counter service: POST /incr answers 200 at once and increments
the Redis key "counter" after --delay, in the background. With LEDGER_KEY set
(the drill sets it with --ledger redis:KEY) the increment and HINCRBY of the
request's X-Request-Id in that hash are one MULTI/EXEC: the per-request ledger
the drill reconciles.

With --naive it is the unsafe pattern (no signal handling, an untracked
goroutine); without, the same handler on the lameduck library, with admin
endpoints (/livez /readyz /phase /drain) on ADMIN_PORT. --variant shutdown is
the usual hand-written service: the write before the answer, and
http.Server.Shutdown on SIGTERM, with no drain delay. --variant crashsafe is
the lameduck variant made crash-safe: the work (--delay) and the write happen
before the 200, and a request with an Idempotency-Key is applied at most once
per key (internal/idempotency), so SIGKILL loses nothing acknowledged and a
client's retry applies nothing twice.

Environment: PORT (default 8080), ADMIN_PORT (default PORT+1000),
REDIS_ADDR (default 127.0.0.1:6379), LEDGER_KEY, and the LAMEDUCK_* variables.
The source is internal/demo: naive.go and graceful.go side by side.

With --protocol grpc the service is gRPC on PORT instead: the unary method
/grpc.testing.TestService/UnaryCall (grpc's interop TestService, so no
protoc is needed; request and response are ignored) increments the counter
after --delay. --naive is a plain grpc.Server with a bare goroutine and no
signal handling; without it the server runs through grpclameduck and the
admin endpoints (/readyz) stay on ADMIN_PORT over HTTP.`,
		Example: `  PORT=8080 REDIS_ADDR=127.0.0.1:6379 lameduck demo --naive
  PORT=8080 LAMEDUCK_DRAIN_DELAY=5s lameduck demo --delay 1s
  PORT=9090 lameduck demo --protocol grpc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := demo.ConfigFromEnv(nil, delay)
			if err != nil {
				return usageError("%v", err)
			}
			if cfg.Fault, err = demo.ParseFault(fault); err != nil {
				return usageError("demo: --fault: %v", err)
			}
			if naive {
				variant = "naive"
			}
			switch {
			case protocol == "grpc" && variant == "naive":
				// Serve returns only when it cannot listen.
				return &exitError{code: 2, err: demo.RunNaiveGRPC(cfg)}
			case protocol == "grpc" && variant == "lameduck":
				return exitCode(demo.RunGracefulGRPC(cfg))
			case protocol == "grpc":
				return usageError("demo: --protocol grpc has the variants naive and lameduck, not %q", variant)
			case protocol != "http":
				return usageError("demo: --protocol must be http or grpc, not %q", protocol)
			}
			switch variant {
			case "naive":
				// ListenAndServe returns only when it cannot listen.
				return &exitError{code: 2, err: demo.RunNaive(cfg)}
			case "lameduck":
				return exitCode(demo.RunGraceful(cfg))
			case "shutdown":
				return exitCode(demo.RunShutdown(cfg))
			case "crashsafe":
				return exitCode(demo.RunCrashSafe(cfg))
			}
			return usageError("demo: --variant must be naive, lameduck, shutdown or crashsafe, not %q", variant)
		},
	}
	cmd.Flags().BoolVar(&naive, "naive", false, "run the unsafe variant (same as --variant naive)")
	cmd.Flags().StringVar(&variant, "variant", "lameduck", "naive, lameduck, shutdown (http.Server.Shutdown, no drain delay) or crashsafe (lameduck, the work and the write before the 200, deduplicated by Idempotency-Key)")
	cmd.Flags().StringVar(&protocol, "protocol", "http", "service protocol: http or grpc")
	cmd.Flags().DurationVar(&delay, "delay", demo.DefaultDelay, "delay between the 200 OK and the increment")
	cmd.Flags().StringVar(&fault, "fault", "", "a deliberate bug for the drill's tests: ignore-term, 503-terminating or drop-dup")
	_ = cmd.Flags().MarkHidden("fault")
	return cmd
}

func exitCode(code int) error {
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}
