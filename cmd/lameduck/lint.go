package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lameduck-dev/lameduck/internal/lint"
)

// lintMemoryLimit is the soft memory limit lint sets unless GOMEMLIMIT is
// set (bench/lint.md: a 31 MB input stays under 500 MB RSS).
const lintMemoryLimit = 400 << 20

func newLintCmd() *cobra.Command {
	var (
		format, failOn, color string
		disable               []string
		explain               string
		listRules, quiet      bool
	)
	cmd := &cobra.Command{
		Use:   "lint [flags] FILE|DIR|- ...",
		Short: "Check the termination time budget of Kubernetes manifests",
		Long: `Check Kubernetes manifests for the timing bugs that fail requests during
rollouts, node drains and scale-downs. The rule:

  LB deregistration delay < preStop (+ drain delay) < app shutdown < terminationGracePeriodSeconds

lint reads multi-document YAML or JSON from files, directories (recursively:
*.yaml, *.yml, *.json) and - (stdin: pipe "kubectl kustomize" or "helm
template" output in). It decodes Deployment, StatefulSet, DaemonSet,
ReplicaSet, ReplicationController, Pod, Argo Rollout, Service, Ingress,
PodDisruptionBudget, HorizontalPodAutoscaler and ConfigMap with the real
Kubernetes API types, strictly: a misspelled field is an error with its file
and line. apiVersions Kubernetes no longer serves (extensions/v1beta1,
apps/v1beta1 and v1beta2, policy/v1beta1, ...) are reported
(removed-api-version) and checked as the current version. Other kinds are
skipped and counted in a note; in directories, YAML files that are not
Kubernetes objects (Helm values, kustomization.yaml) and partial objects
(kustomize patches) are skipped too.

Objects without a namespace are linked (a Service to the pods it selects)
only with objects of the same directory, preferring the same file.

For every container it prints the termination budget, counted from T0 (the
pod's deletion): the load balancer's deregistration delay where the
manifests reveal it (AWS Load Balancer Controller target-group attributes,
ingress-nginx), the preStop hook, how long the server keeps accepting
requests (preStop, lameduck's drain delay, or the server's own delay:
CoreDNS lameduck, Gatekeeper, Knative, podinfo, ingress-nginx), the
application's shutdown computed from its LAMEDUCK_* variables by the
lameduck library itself, and SIGKILL.

Severities (as in kube-score and golangci-lint; --list-rules shows each
rule's):
  error    a shutdown that fails requests or loses work, or a manifest the
           API server rejects: fails CI by default
  warning  a risk worth a look (a single replica, an aggressive liveness
           probe): reported, fails only with --fail-on warning
  info     a suggestion (no PodDisruptionBudget): reported only
--fail-on picks the lowest severity that makes lint exit 1.

Annotations, on the workload or its pod template:
  lameduck.dev/disable: "rule-id,rule-id"   skip these rules here ("all": every rule)
  lameduck.dev/shutdown-delay: "5s"         the server keeps accepting requests
                                            this long after SIGTERM by itself
                                            (per container: "app=5s,proxy=0s")
--disable skips rules everywhere.

Output: findings as "file:line:col: [severity] rule: message" grouped by
workload (coloured on a terminal), or --format json / sarif (SARIF 2.1.0).

Exit status: 0 no finding at or above --fail-on; 1 findings at or above
--fail-on; 2 unreadable input (malformed YAML, unknown fields, wrong types,
missing kind; reported as file:line:col and what was expected) or bad flags.`,
		Example: `  lameduck lint deploy/
  kubectl kustomize overlays/prod | lameduck lint -
  helm template my-chart | lameduck lint - --format sarif > lint.sarif
  lameduck lint k8s/ --fail-on warning --disable no-pdb
  lameduck lint --explain no-drain-delay
  lameduck lint --list-rules`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if listRules {
				for _, r := range lint.Rules() {
					fmt.Fprintf(out, "%-27s %-8s %s\n", r.ID, r.Severity, r.Summary)
				}
				return nil
			}
			if explain != "" {
				r := lint.RuleByID(explain)
				if r == nil {
					return usageError("lint: unknown rule %q (see lameduck lint --list-rules)", explain)
				}
				fmt.Fprintf(out, "%s (%s): %s\n\n%s\n", r.ID, r.Severity, r.Summary, r.Explain)
				return nil
			}
			if len(args) == 0 {
				return usageError("lint: give at least one FILE, DIR or - (stdin)")
			}
			threshold := lint.Severity(99) // "none": never fail on findings
			if failOn != "none" {
				s, err := lint.ParseSeverity(failOn)
				if err != nil {
					return usageError("lint: --fail-on: %v (or none)", err)
				}
				threshold = s
			}
			var ids []string
			for _, d := range disable {
				for _, id := range strings.Split(d, ",") {
					if id = strings.TrimSpace(id); id != "" {
						ids = append(ids, id)
					}
				}
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				// A soft limit: the GC works harder instead of letting a
				// 32 MiB manifest set grow the heap past a few hundred MB.
				debug.SetMemoryLimit(lintMemoryLimit)
			}
			if os.Getenv("GOGC") == "" {
				// Fewer collections while the heap is small: lint
				// allocates fast and keeps little (bench/lint.md: about 15%
				// less CPU on 31 MB); the memory limit above bounds it.
				debug.SetGCPercent(400)
			}
			in := lint.ReadPaths(args, cmd.InOrStdin())
			res, err := lint.Check(in, lint.Config{Disable: ids})
			if err != nil {
				return usageError("lint: --disable: %v", err)
			}
			switch format {
			case "text":
				useColor := color == "always" || (color == "auto" && isTerminal(out))
				err = lint.WriteText(out, res, lint.TextOptions{Color: useColor, Quiet: quiet})
			case "json":
				err = lint.WriteJSON(out, res)
			case "sarif":
				err = lint.WriteSARIF(out, res)
			default:
				return usageError("lint: --format %q: want text, json or sarif", format)
			}
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("lint: writing output: %w", err)}
			}
			if len(res.Errors) > 0 {
				if format != "text" {
					for _, e := range res.Errors {
						fmt.Fprintln(cmd.ErrOrStderr(), e.Error())
					}
				}
				return &exitError{code: 2, err: fmt.Errorf("lint: %d unreadable input(s)", len(res.Errors))}
			}
			if res.ExitCode(threshold) == lint.ExitFindings {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "text", "output format: text, json or sarif")
	f.StringVar(&failOn, "fail-on", "error", "exit 1 on findings at or above this severity: info, warning, error or none")
	f.StringSliceVar(&disable, "disable", nil, "rule ids to skip everywhere (comma-separated or repeated)")
	f.StringVar(&explain, "explain", "", "print the explanation of a rule and exit")
	f.BoolVar(&listRules, "list-rules", false, "list the rules and exit")
	f.BoolVarP(&quiet, "quiet", "q", false, "print findings only (text format)")
	f.StringVar(&color, "color", "auto", "colour the text output: auto (on a terminal), always or never")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
