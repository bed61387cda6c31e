package main

import (
	"time"

	"github.com/lameduck-dev/lameduck/examples/counter"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var naive bool
	var delay time.Duration
	cmd := &cobra.Command{
		Use:   "demo [--naive] [--delay 5s]",
		Short: "Run the demo counter service (naive or with lameduck)",
		Long: `Run the demo counter service: POST /incr answers 200 at once and increments
the Redis key "counter" after --delay, in the background.

With --naive it is the unsafe pattern (no signal handling, an untracked
goroutine); without, the same handler on the lameduck library, with admin
endpoints (/livez /readyz /phase /drain) on ADMIN_PORT.

Environment: PORT (default 8080), ADMIN_PORT (default PORT+1000),
REDIS_ADDR (default 127.0.0.1:6379), and the LAMEDUCK_* variables.
The source is examples/counter (naive.go and graceful.go side by side).`,
		Example: `  PORT=8080 REDIS_ADDR=127.0.0.1:6379 lameduck demo --naive
  PORT=8080 LAMEDUCK_DRAIN_DELAY=5s lameduck demo --delay 1s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := counter.ConfigFromEnv(nil, delay)
			if err != nil {
				return usageError("%v", err)
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
	cmd.Flags().DurationVar(&delay, "delay", counter.DefaultDelay, "delay between the 200 OK and the increment")
	return cmd
}
