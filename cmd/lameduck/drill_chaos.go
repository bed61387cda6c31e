package main

import (
	"fmt"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill"
	"github.com/lameduck-dev/lameduck/internal/drill/loadretry"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/spf13/pflag"
)

// chaosFlags registers --chaos, --chaos-scope, --chaos-window and --retry.
func chaosFlags(fl *pflag.FlagSet, f *drillFlags) {
	fl.StringVar(&f.chaos, "chaos", "", "SIGKILL replicas at random moments (seeded by --seed) while the rollouts run: a count like 3, or a rate like 0.5/s, over --chaos-window; each victim's ReplicaSet replaces it with one of its revision")
	fl.StringVar(&f.chaosScope, "chaos-scope", trace.ChaosReplica, "--chaos kills one replica (replica) or every replica of one node group (node; replicas are spread over --nodes)")
	fl.Var(secs(&f.chaosWindow, drill.DefaultChaosWindow), "chaos-window", "how long the chaos window lasts, from the first rollout's trigger: the kill moments are drawn over it (it may outlast the rollouts)")
	fl.BoolVar(&f.retry, "retry", false, "--protocol http: the load re-sends a failed request with its request id as Idempotency-Key, with backoff and honouring Retry-After (the retry package's policy)")
}

// retryBudget gives --timeout its --retry default when it was not set:
// with --retry it is the whole request's budget, retries included, and
// must outlast a killed replica's restart and readiness.
func retryBudget(fl *pflag.FlagSet) error {
	if retry, _ := fl.GetBool("retry"); retry && !fl.Changed("timeout") {
		return fl.Set("timeout", loadretry.DefaultBudget.String())
	}
	return nil
}

// chaosConfig checks the chaos and retry flags and sets them on cfg.
func chaosConfig(f *drillFlags, cfg *drill.Config) error {
	if f.retry && f.protocol == drill.ProtocolGRPC {
		return fmt.Errorf("--retry is for --protocol http; gRPC clients retry with --grpc-retry")
	}
	if (f.demoVariant == "crashsafe" || f.demoVariant == "all") && f.protocol == drill.ProtocolGRPC {
		return fmt.Errorf("--demo-variant %s is an HTTP service: not with --protocol grpc", f.demoVariant)
	}
	cfg.Retry = f.retry
	if f.chaos == "" {
		return nil
	}
	spec, err := drill.ParseChaos(f.chaos, f.chaosScope, time.Duration(f.chaosWindow))
	if err != nil {
		return fmt.Errorf("--chaos: %v", err)
	}
	if time.Duration(f.chaosWindow) <= 0 {
		return fmt.Errorf("--chaos-window %v: want a duration > 0", time.Duration(f.chaosWindow))
	}
	cfg.Chaos = spec
	return nil
}

// crashSafeRun is the crash-safe demo run, built on the lameduck one.
func crashSafeRun(lame drill.Config, delay string) drill.Config {
	cs := lame
	cs.Name = "crashsafe"
	cs.Command = []string{lame.Command[0], "demo", "--variant", "crashsafe", "--delay", delay}
	return cs
}

// demoPassLine is the demo's last line when its last run passed.
func demoPassLine(last string) string {
	if last == "crashsafe" {
		return "The crashsafe service lost nothing; the naive and lameduck ones are expected to fail under --chaos."
	}
	return "The lameduck service lost nothing; the naive one is expected to fail."
}
