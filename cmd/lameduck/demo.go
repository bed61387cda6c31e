package main

import (
	"time"

	"github.com/lameduck-dev/lameduck/examples/counter"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var naive bool
	var delay time.Duration
	var protocol string
	cmd := &cobra.Command{
		Use:   "demo [--naive] [--delay 5s] [--protocol http|grpc]",
		Short: "Run the demo counter service (naive or with lameduck)",
		Long: `Run the demo counter service: POST /incr answers 200 at once and increments
the Redis key "counter" after --delay, in the background.

With --naive it is the unsafe pattern (no signal handling, an untracked
goroutine); without, the same handler on the lameduck library, with admin
endpoints (/livez /readyz /phase /drain) on ADMIN_PORT.

Environment: PORT (default 8080), ADMIN_PORT (default PORT+1000),
REDIS_ADDR (default 127.0.0.1:6379), and the LAMEDUCK_* variables.
The source is examples/counter (naive.go and graceful.go side by side).

With --protocol grpc the service is gRPC on PORT instead: the unary method
/grpc.testing.TestService/UnaryCall (grpc's interop TestService, so no
protoc is needed; request and response are ignored) increments the counter
after --delay. --naive is a plain grpc.Server with a bare goroutine and no
signal handling; without it the server runs through grpclameduck and the
admin endpoints (/readyz) stay on ADMIN_PORT over HTTP (examples/counter/grpc.go).`,
		Example: `  PORT=8080 REDIS_ADDR=127.0.0.1:6379 lameduck demo --naive
  PORT=8080 LAMEDUCK_DRAIN_DELAY=5s lameduck demo --delay 1s
  PORT=9090 lameduck demo --protocol grpc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := counter.ConfigFromEnv(nil, delay)
			if err != nil {
				return usageError("%v", err)
			}
			switch protocol {
			case "http":
			case "grpc":
				if naive {
					// Serve returns only when it cannot listen.
					return &exitError{code: 2, err: counter.RunNaiveGRPC(cfg)}
				}
				if code := counter.RunGracefulGRPC(cfg); code != 0 {
					return &exitError{code: code}
				}
				return nil
			default:
				return usageError("demo: --protocol must be http or grpc, not %q", protocol)
			}
			if naive {
				// ListenAndServe returns only when it cannot listen.
				err := counter.RunNaive(cfg)
				return &exitError{code: 2, err: err}
			}
			if code := counter.RunGraceful(cfg); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&naive, "naive", false, "run the unsafe variant")
	cmd.Flags().StringVar(&protocol, "protocol", "http", "service protocol: http or grpc")
	cmd.Flags().DurationVar(&delay, "delay", counter.DefaultDelay, "delay between the 200 OK and the increment")
	return cmd
}
