package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lameduck-dev/lameduck/internal/drill"
	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/kube"
	"github.com/lameduck-dev/lameduck/internal/drill/ledger"
	"github.com/lameduck-dev/lameduck/internal/drill/report"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// kubeFlags are the flags of `lameduck drill --kube`.
type kubeFlags struct {
	on             bool
	kubeconfig     string
	namespace      string
	image          string
	dryRun         bool
	service        string
	port           string
	loadImage      string
	pullNever      bool
	rolloutTimeout seconds
}

// kubeDefaults replace the local drill's defaults with --kube when the flag
// was not set: the load is a pod of fixed duration.
var kubeDefaults = map[string]string{
	"duration": "45s",
	"warmup":   "3s",
	"tail":     "2s",
	"timeout":  "5s",
	"method":   "POST",
	"path":     "/incr",
}

// kubeOnlyFlags may only be given with --kube; localOnlyFlags only without.
var (
	kubeOnlyFlags  = []string{"kubeconfig", "namespace", "image", "dry-run", "service", "port", "load-image", "load-pull-never", "rollout-timeout"}
	localOnlyFlags = []string{"replicas", "max-surge", "max-unavailable", "rollouts", "readiness", "readiness-period", "readiness-timeout",
		"readiness-success", "readiness-failure", "readiness-delay", "min-ready", "grace", "prestop-sleep", "prestop", "stop-signal",
		"profile", "propagation-lag", "nodes", "protocol", "grpc-retry", "env", "start-timeout", "demo-delay", "demo-variant",
		"expect-counter", "body", "header", "workers", "clients"}
)

const kubeHelp = `
With --kube it drills a workload of a real cluster instead:

  lameduck drill --kube --namespace NS deployment/NAME [--service SVC] [--image IMAGE]

It triggers a rollout as 'kubectl rollout restart' does (or 'kubectl set image'
with --image CONTAINER=IMAGE), while a pod of the lameduck image sends constant
load to the Service's ClusterIP from inside the cluster (never through
port-forward: the traffic goes through kube-proxy as any client's), watches
EndpointSlices, the workload's pods and their events, waits until the rollout
is done (observedGeneration caught up, updated = ready = available = desired,
no ProgressDeadlineExceeded, no terminating pod left), then verifies the
ledger (--ledger redis:KEY with --redis ADDR, an address the drill can reach,
e.g. the store's ClusterIP on a node, or --ledger http://...). The report is
the local drill's. kube-proxy's DNAT hides which pod a connection went to:
a service that answers with the header X-Lameduck-Pod: <pod name> (optional;
the demo does) lets the drill tie each keep-alive connection, and the
failures and lost writes on it, to a pod; a new connection that failed before
any answer stays new-connection-failed-pod-unknown. Each pod's last log lines
are fetched (pods/log) into the report.

--retry works on a cluster as locally: the load pod ('lameduck load --retry')
sends each request's id as Idempotency-Key and retries a connection lost before
any response byte, a refused or timed-out dial and 503 + Retry-After until
--timeout (then 15s unless given) runs out; every failed attempt is in the
pod's log with its connection, so the ledger tells a write lost from a write
applied twice on retry and from a request that failed for good. Only against a
service that deduplicates by the key.

Prerequisites: a kubeconfig (--kubeconfig, else $KUBECONFIG or ~/.kube/config)
whose user has the Role of deploy/rbac-drill.yaml in NS (get/patch the
workload, list/watch pods, ReplicaSets, EndpointSlices and events, create and
delete the load pod, read its and the replicas' logs); the lameduck image (--load-image) pullable
by the nodes; the workload at rest and behind a Service with a ClusterIP.

Chaos: --chaos N|R/s (with --chaos-scope, --chaos-window, --seed) SIGKILLs
the workload's pods at drawn moments from the rollout's trigger on, while
the rollout runs: a real SIGKILL to every process of a ready pod's
containers (node scope: of every pod of the workload on that pod's node),
sent from an agent pod of the lameduck image on the victim's node
(lameduck-chaos-*: hostPID, root with CAP_KILL only; the drill execs
'lameduck chaos-kill' in it, so it also needs create on pods/exec). The API
cannot SIGKILL a container (a deletion, even with --grace-period=0, sends
the stop signal and runs preStop first). As after an OOM kill, the kubelet
restarts the container in place; the trace names the restarted instance
POD#N. The namespace must admit hostPID pods (Pod Security "privileged").

Safety: it rolls exactly one workload, in a namespace named explicitly
(--namespace is required; kube-system and every kube-* namespace are refused),
creates one pod (lameduck-load-*, deleted at the end) and, with --chaos, one
agent pod per node that held a victim (deleted at the end), and nothing else;
--dry-run prints the patch as a kubectl command and changes nothing. A
rollout restarts every pod of the workload: drill a staging cluster.
`

func addKubeFlags(fl *pflag.FlagSet, k *kubeFlags) {
	fl.BoolVar(&k.on, "kube", false, "drill a workload of a real cluster (see below): WORKLOAD is deployment/NAME or statefulset/NAME")
	fl.StringVar(&k.kubeconfig, "kubeconfig", "", "--kube: kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	fl.StringVarP(&k.namespace, "namespace", "n", "", "--kube: the workload's namespace (required; kube-* refused)")
	fl.StringVar(&k.image, "image", "", "--kube: roll by setting an image, IMAGE or CONTAINER=IMAGE (default: restart, as kubectl rollout restart)")
	fl.BoolVar(&k.dryRun, "dry-run", false, "--kube: print the patch that would trigger the rollout and exit")
	fl.StringVar(&k.service, "service", "", "--kube: the Service the load goes to (default: the workload's name)")
	fl.StringVar(&k.port, "port", "", "--kube: the Service port, by name or number (default: its only port)")
	fl.StringVar(&k.loadImage, "load-image", "", "--kube: image holding /lameduck (the lameduck image), for the load pod (required)")
	fl.BoolVar(&k.pullNever, "load-pull-never", false, "--kube: imagePullPolicy Never for the load pod (images imported into the nodes)")
	fl.Var(secs(&k.rolloutTimeout, 5*time.Minute), "rollout-timeout", "--kube: how long the rollout may take")
}

// runKubeDrill is `lameduck drill --kube`.
func runKubeDrill(ctx context.Context, cmd *cobra.Command, f *drillFlags, args []string) error {
	for _, n := range localOnlyFlags {
		if cmd.Flags().Changed(n) {
			return usageError("drill: --%s is for the local drill; with --kube the workload's own spec decides it", n)
		}
	}
	if len(args) != 1 || cmd.ArgsLenAtDash() >= 0 {
		return usageError("drill --kube: give one workload, deployment/NAME or statefulset/NAME (got %q)", args)
	}
	t, err := kube.ParseTarget(f.kube.namespace, args[0])
	if err != nil {
		return usageError("drill --kube: %v", err)
	}
	for name, v := range kubeDefaults {
		if !cmd.Flags().Changed(name) {
			if err := cmd.Flags().Set(name, v); err != nil {
				return err
			}
		}
	}
	if f.rate < 1 || f.rate > 10000 {
		return usageError("drill --kube: --rate %d: want 1..10000", f.rate)
	}
	for name, v := range map[string]seconds{"duration": f.duration, "timeout": f.timeout, "settle": f.settle, "rollout-timeout": f.kube.rolloutTimeout} {
		if v <= 0 {
			return usageError("drill --kube: --%s %v: want a duration > 0", name, time.Duration(v))
		}
	}
	if d(f.duration) > time.Hour {
		return usageError("drill --kube: --duration %v: want at most 1h", d(f.duration))
	}
	if f.kube.loadImage == "" && !f.kube.dryRun {
		return usageError("drill --kube: --load-image is required: an image holding /lameduck that the nodes can pull (scripts/kube builds lameduck.local/lameduck:1)")
	}
	chaosSpec, err := kubeChaos(cmd, f)
	if err != nil {
		return err
	}
	var lspec ledger.Spec
	if f.ledger != "" {
		if lspec, err = ledger.Parse(f.ledger); err != nil {
			return usageError("drill --kube: --ledger: %v", err)
		}
		if lspec.Kind == "redis" && f.redis == "" {
			return usageError("drill --kube: --ledger %s needs --redis ADDR: the service's store, at an address this machine reaches (there is no embedded store on a cluster)", f.ledger)
		}
	}

	out := cmd.OutOrStdout()
	var patch kube.Patch
	if f.kube.image == "" {
		patch = kube.RestartPatch(time.Now())
		if f.kube.dryRun { // the restart patch needs nothing from the cluster
			fmt.Fprintln(out, patch.DryRun(t))
			printChaosPlan(out, chaosSpec)
			return nil
		}
	}
	restCfg, cs, err := kube.ConnectConfig(f.kube.kubeconfig)
	if err != nil {
		return usageError("drill --kube: %v", err)
	}
	cl := &kube.Cluster{CS: cs, Target: t, Config: restCfg}
	if f.kube.image != "" {
		tpl, _, err := cl.PodTemplate(ctx)
		if err != nil {
			return usageError("drill --kube: %s: %v", t, err)
		}
		container, image, ok := strings.Cut(f.kube.image, "=")
		if !ok {
			container, image = "", f.kube.image
		}
		if patch, err = kube.ImagePatch(tpl.Spec, container, image); err != nil {
			return usageError("drill --kube: %v", err)
		}
	}
	if f.kube.dryRun {
		fmt.Fprintln(out, patch.DryRun(t))
		printChaosPlan(out, chaosSpec)
		return nil
	}

	var jsonOut io.Writer
	switch f.jsonFile {
	case "":
	case "-":
		jsonOut, out = out, cmd.ErrOrStderr()
	default:
		file, err := os.Create(f.jsonFile)
		if err != nil {
			return usageError("drill: --json: %v", err)
		}
		defer file.Close()
		jsonOut = file
	}
	if err := f.reports.open(false); err != nil {
		return usageError("drill: %v", err)
	}
	defer f.reports.close()

	var reader ledger.Reader
	switch lspec.Kind {
	case "redis":
		rdb := redis.NewClient(&redis.Options{Addr: f.redis, DialTimeout: 3 * time.Second})
		defer rdb.Close()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			return usageError("drill --kube: --redis %s unreachable: %v", f.redis, err)
		}
		reader = &ledger.RedisHash{Client: rdb, Key: lspec.Key, Addr: f.redis}
	case "http":
		reader = &ledger.HTTP{URL: lspec.URL, Client: &http.Client{Timeout: 10 * time.Second}}
	}
	service := f.kube.service
	if service == "" {
		service = t.Name
	}
	name := t.String()
	spec := kube.DrillSpec{
		Name: name, Patch: patch, Service: service, Port: f.kube.port, Method: strings.ToUpper(f.method), Path: f.path,
		Rate: f.rate, Duration: d(f.duration), Warmup: d(f.warmup), Tail: d(f.tail), Timeout: d(f.timeout),
		RolloutTimeout: d(f.kube.rolloutTimeout), Settle: d(f.settle), LoadImage: f.kube.loadImage, PullNever: f.kube.pullNever,
		Ledger: reader, Progress: cmd.ErrOrStderr(), Chaos: chaosSpec, Retry: f.retry,
		Settings: trace.Settings{Profile: "real cluster (kube-proxy lag not observed here; docs/fidelity.md)", Nodes: 1, Rate: f.rate, Method: strings.ToUpper(f.method), Path: f.path,
			Timeout: d(f.timeout), Protocol: "http", Rollouts: 1, Retry: f.retry,
			Notes: []string{fmt.Sprintf("--kube: %s, load from pod lameduck-load-* to Service %s; replicas, surge, probes and grace are the workload's own", t, service)}},
	}
	if chaosSpec != nil {
		spec.Settings.Seed = f.seed
		spec.Settings.Notes = append(spec.Settings.Notes, fmt.Sprintf("--chaos %s (seed %d): real SIGKILLs from agent pods (hostPID) on the victims' nodes; a killed pod is not deleted, the kubelet restarts its container in place, traced as POD#N", chaosSpec.Spec, f.seed))
	}
	tr, err := cl.Drill(ctx, spec)
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 130, err: errors.New("drill interrupted; the load pod was deleted")}
		}
		return usageError("drill --kube: %v", err)
	}
	res := analysis.Analyze(tr)
	fmt.Fprintln(out, "settings:")
	report.Settings(out, res)
	fmt.Fprintln(out)
	report.Text(out, res)
	fmt.Fprintln(out)
	code := 0
	if !res.Verdict.Pass {
		code = 1
	}
	runs := []report.Run{{Result: res, Trace: tr}}
	if jsonOut != nil {
		if err := report.JSON(jsonOut, runs, code); err != nil {
			return usageError("drill: write --json: %v", err)
		}
	}
	if err := f.reports.write(out, runs); err != nil {
		return usageError("drill: %v", err)
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// kubeChaos checks --chaos for a drill on a cluster and draws its moments
// (nil without --chaos).
func kubeChaos(cmd *cobra.Command, f *drillFlags) (*kube.ChaosSpec, error) {
	if f.chaos == "" {
		for _, n := range []string{"chaos-scope", "chaos-window", "seed"} {
			if cmd.Flags().Changed(n) {
				return nil, usageError("drill --kube: --%s is for --chaos", n)
			}
		}
		return nil, nil
	}
	window := d(f.chaosWindow)
	spec, err := drill.ParseChaos(f.chaos, f.chaosScope, window)
	if err != nil {
		return nil, usageError("drill --kube: --chaos: %v", err)
	}
	if window <= 0 {
		return nil, usageError("drill --kube: --chaos-window %v: want a duration > 0", window)
	}
	if left := d(f.duration) - d(f.warmup); window >= left {
		return nil, usageError("drill --kube: --chaos-window %v: the kills start at the trigger, after --warmup %v, and must end before the load does (--duration %v)", window, d(f.warmup), d(f.duration))
	}
	rng := drill.ChaosRand(f.seed)
	return &kube.ChaosSpec{Spec: spec.String(), Scope: spec.Scope, Window: window, Moments: spec.Moments(rng), Rand: rng}, nil
}

// printChaosPlan prints what --chaos would do (for --dry-run).
func printChaosPlan(w io.Writer, c *kube.ChaosSpec) {
	if c == nil {
		return
	}
	at := make([]string, len(c.Moments))
	for i, m := range c.Moments {
		at[i] = fmt.Sprintf("+%.1fs", m.Seconds())
	}
	what := "one ready pod's containers"
	if c.Scope == trace.ChaosNode {
		what = "every running pod of the workload on one ready pod's node"
	}
	fmt.Fprintf(w, "# --chaos %s: SIGKILL to %s at %s after the trigger (%d kills; victims are drawn at each moment)\n",
		c.Spec, what, strings.Join(at, " "), len(c.Moments))
}
