package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/kube/podload"
	"github.com/lameduck-dev/lameduck/internal/drill/loadretry"
	"github.com/spf13/cobra"
)

func newLoadCmd() *cobra.Command {
	var spec podload.Spec
	var body string
	cmd := &cobra.Command{
		Use:   "load --url URL [--rate 200] [--duration 30s]",
		Short: "Send the drill's constant-rate load and print one JSON line per request",
		Long: `Send constant-rate HTTP requests to --url and print one JSON line per request
({"req":{...}}: id, start, latency, status code or error class) and a summary
line last ({"summary":{...}}).

This is the load of 'lameduck drill --kube': the drill runs it in a pod of the
lameduck image, so requests reach the Service's ClusterIP through kube-proxy's
rules as any in-cluster client's do, and reads the pod's log back. It can be
run by hand too. Each request carries a unique X-Request-Id; requests are
spread over --clients independent keep-alive pools.

With --retry (what 'lameduck drill --kube --retry' passes) each request also
carries its id as Idempotency-Key ("<X-Request-Id>", an sf-string) and goes
through the retry package's Transport, as the local drill's --retry: a
connection lost before any response byte, a refused or timed-out dial (the
dial timeout is 1s, so a dial whose SYNs go unanswered is made again) and
503 + Retry-After are retried with full-jitter backoff (100ms doubling up to 1s)
until --timeout, the whole request's budget, runs out. Every failed attempt is
kept in the request's line ("attempts": start, latency, status or error and
its class, local address, connection number, X-Lameduck-Pod, the policy's
reason), and the summary counts the requests retried and their failed
attempts. Use it only against a service that deduplicates by the key, or every
retried write may be applied twice.

Exit status: 0 when the load ran (whatever the requests' outcome), 2 on bad
flags.`,
		Example: `  lameduck load --url http://10.96.0.20:8080/incr --rate 100 --duration 20s
  lameduck load --url http://10.96.0.20:8080/incr --rate 100 --duration 20s --retry`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec.URL == "" {
				return usageError("load: --url is required")
			}
			if spec.Rate < 1 || spec.Rate > 10000 {
				return usageError("load: --rate must be 1..10000, not %d", spec.Rate)
			}
			if spec.Duration <= 0 || spec.Duration > time.Hour {
				return usageError("load: --duration must be in (0, 1h], not %s", spec.Duration)
			}
			if spec.Timeout <= 0 {
				return usageError("load: --timeout must be positive, not %s", spec.Timeout)
			}
			if spec.Retry && !cmd.Flags().Changed("timeout") {
				spec.Timeout = loadretry.DefaultBudget
			}
			if spec.Clients < 1 || spec.Clients > 256 {
				return usageError("load: --clients must be 1..256, not %d", spec.Clients)
			}
			spec.Body = []byte(body)
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			_, err := podload.Run(ctx, spec, cmd.OutOrStdout())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.URL, "url", "", "target URL, e.g. http://CLUSTER-IP:PORT/incr (required)")
	f.StringVar(&spec.Method, "method", "POST", "HTTP method")
	f.StringVar(&body, "body", "", "request body")
	f.IntVar(&spec.Rate, "rate", 200, "requests per second (1..10000)")
	f.DurationVar(&spec.Duration, "duration", 30*time.Second, "how long to send (at most 1h)")
	f.DurationVar(&spec.Timeout, "timeout", 2*time.Second, "per-request timeout; with --retry the whole request's budget, retries included (then 15s unless given)")
	f.IntVar(&spec.Clients, "clients", 4, "independent keep-alive connection pools (1..256)")
	f.StringVar(&spec.RunID, "run-id", "load", "prefix of the X-Request-Id values")
	f.BoolVar(&spec.Retry, "retry", false, "send each request's id as Idempotency-Key and retry a lost connection, a refused or timed-out dial (1s dial timeout) or 503 + Retry-After within --timeout, recording every attempt")
	return cmd
}
