package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill"
	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/ledger"
	"github.com/lameduck-dev/lameduck/internal/drill/report"
	"github.com/lameduck-dev/lameduck/internal/drill/rollout"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// drillFlags holds the drill subcommand's flags.
type drillFlags struct {
	replicas         int
	maxSurge         string
	maxUnavailable   string
	rollouts         int
	readiness        string
	readinessPeriod  seconds
	readinessTimeout seconds
	readinessSuccess int
	readinessFailure int
	readinessDelay   seconds
	minReady         seconds
	grace            seconds
	prestopSleep     seconds
	prestop          string
	stopSignal       string
	profile          string
	lag              string
	nodes            int
	seed             uint64
	rate             int
	duration         seconds
	warmup           seconds
	tail             seconds
	method           string
	path             string
	body             string
	headers          []string
	timeout          seconds
	workers          int
	clients          int
	redis            string
	expectCounter    string
	ledger           string
	settle           seconds
	env              []string
	startTimeout     seconds
	jsonFile         string
	reports          reportFlags // --html, --junit, --markdown (report.go)
	demoDelay        seconds
	demoVariant      string
	protocol         string
	grpcRetry        bool
	// --chaos, --chaos-scope, --chaos-window, --retry (drill_chaos.go)
	chaos       string
	chaosScope  string
	chaosWindow seconds
	retry       bool
	kube        kubeFlags // --kube and its flags (drill_kube.go)
}

// demoDefaults are the demo's scaled-down numbers, applied to every flag
// the user did not set, so that `lameduck drill` finishes in well under a
// minute. They are printed in the report header.
var demoDefaults = map[string]string{
	"rate":             "200",
	"readiness-period": "250ms",
	"grace":            "10s",
	"min-ready":        "500ms",
	"warmup":           "1s",
	"tail":             "1s",
	"duration":         "7s",
	"method":           "POST",
	"path":             "/incr",
	"expect-counter":   "counter",
	"ledger":           "redis:drill:ledger",
	"start-timeout":    "15s",
}

// secs sets *p to d and returns it as a flag value.
func secs(p *seconds, d time.Duration) *seconds {
	*p = seconds(d)
	return p
}

func newDrillCmd() *cobra.Command {
	var f drillFlags
	cmd := &cobra.Command{
		Use:   "drill [flags] [-- COMMAND [ARGS...]]",
		Short: "Roll replicas of a service under constant load and count every lost request",
		Long: `Run replicas of COMMAND behind a kube-proxy-like L4 balancer, send constant-rate
load, perform rolling updates with Kubernetes' termination semantics (endpoint
removal and preStop together, stop signal, SIGKILL at the grace deadline), and
report every failed request and every acknowledged write that was lost, with
its likely cause and the settings that would have avoided it.

Each replica is a process of COMMAND with PORT (service port), ADMIN_PORT and
LAMEDUCK_ADMIN_ADDR (admin port), REDIS_ADDR (the store) and LAMEDUCK_GRACE_PERIOD
(and LAMEDUCK_PRESTOP with --prestop-sleep) set, plus --env values.

With --protocol grpc the load is unary gRPC calls of the method --path
(default /grpc.testing.TestService/UnaryCall) with an empty request message,
over --clients connections; see docs/drill.md.

Without COMMAND it runs the built-in demo twice, the naive counter service and
the lameduck one, through the same rollout under the same load, and prints a
side-by-side verdict; it exits 0 when the lameduck run lost nothing.

Exit status: 0 nothing failed or lost, 1 failures or losses, 2 usage or setup
error (command not found, store unreachable, replicas that never get ready).` + kubeHelp,
		Example: `  lameduck drill                                  # the demo: naive vs lameduck
  lameduck drill --profile cloud-lb --rate 500    # the demo with a slow load balancer
  lameduck drill --protocol grpc                  # the demo as a unary gRPC service
  lameduck drill --readiness /healthz --method POST --path /incr \
      --expect-counter counter -- ./myservice --flag
  lameduck drill --prestop-sleep 5s --grace 30s --json out.json -- ./myservice
  lameduck drill --kube -n staging deployment/counter --load-image REGISTRY/lameduck:TAG \
      --ledger redis:drill:ledger --redis 10.96.100.10:6379`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDrill(ctx, cmd, &f, args)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.replicas, "replicas", drill.DefaultReplicas, "desired replicas")
	fl.StringVar(&f.maxSurge, "max-surge", rollout.DefaultMaxSurge, "rolling update maxSurge (number or percentage, rounded up)")
	fl.StringVar(&f.maxUnavailable, "max-unavailable", rollout.DefaultMaxUnavailable, "rolling update maxUnavailable (number or percentage, rounded down)")
	fl.IntVar(&f.rollouts, "rollouts", drill.DefaultRollouts, "rolling updates in a row")
	fl.StringVar(&f.readiness, "readiness", drill.DefaultReadiness, "readiness probe: tcp, /path (HTTP GET on PORT) or admin:/path (on ADMIN_PORT)")
	fl.Var(secs(&f.readinessPeriod, drill.DefaultProbePeriod), "readiness-period", "readiness periodSeconds")
	fl.Var(secs(&f.readinessTimeout, drill.DefaultProbeTimeout), "readiness-timeout", "readiness timeoutSeconds")
	fl.IntVar(&f.readinessSuccess, "readiness-success", drill.DefaultProbeSuccess, "readiness successThreshold")
	fl.IntVar(&f.readinessFailure, "readiness-failure", drill.DefaultProbeFailure, "readiness failureThreshold")
	fl.Var(secs(&f.readinessDelay, 0), "readiness-delay", "readiness initialDelaySeconds")
	fl.Var(secs(&f.minReady, 0), "min-ready", "minReadySeconds")
	fl.Var(secs(&f.grace, drill.DefaultGrace), "grace", "terminationGracePeriodSeconds, counted from the start of preStop")
	fl.Var(secs(&f.prestopSleep, 0), "prestop-sleep", "preStop sleep action")
	fl.StringVar(&f.prestop, "prestop", "", "preStop command, run with sh -c and POD_PID set")
	fl.StringVar(&f.stopSignal, "stop-signal", "SIGTERM", "stop signal sent after preStop (e.g. SIGQUIT for unicorn or nginx)")
	fl.StringVar(&f.profile, "profile", drill.DefaultProfile, "propagation profile: local, kube-proxy, ingress, cloud-lb")
	fl.StringVar(&f.lag, "propagation-lag", "", "override the profile's lag: 1s, or a range like 500ms-2s")
	fl.IntVar(&f.nodes, "nodes", drill.DefaultNodes, "balancer nodes, each with its own view and lag")
	fl.Uint64Var(&f.seed, "seed", drill.DefaultSeed, "seed for endpoint choice, lag jitter and rollout victims")
	fl.IntVar(&f.rate, "rate", drill.DefaultRate, "requests per second")
	fl.Var(secs(&f.duration, 0), "duration", "minimum load duration (default: until the last deleted replica exited, plus --tail)")
	fl.Var(secs(&f.warmup, drill.DefaultWarmup), "warmup", "load before the first rollout")
	fl.Var(secs(&f.tail, drill.DefaultTail), "tail", "load after the last deleted replica exited")
	fl.StringVar(&f.protocol, "protocol", drill.ProtocolHTTP, "load protocol: http, or grpc (unary calls of the method named by --path, default "+drill.DefaultGRPCMethod+", on --clients connections)")
	fl.BoolVar(&f.grpcRetry, "grpc-retry", false, "--protocol grpc: retry calls failing with UNAVAILABLE (up to 3 attempts), as gRPC clients should (off: the drill measures what a plain client sees)")
	fl.StringVar(&f.method, "method", drill.DefaultMethod, "request method")
	fl.StringVar(&f.path, "path", drill.DefaultPath, "request path")
	fl.StringVar(&f.body, "body", "", "request body")
	fl.StringArrayVar(&f.headers, "header", nil, "request header \"Name: value\" (repeatable)")
	fl.Var(secs(&f.timeout, drill.DefaultTimeout), "timeout", "request timeout; with --retry the whole request's budget, retries included (then 15s unless given)")
	fl.IntVar(&f.workers, "workers", drill.DefaultWorkers, "maximum concurrent requests (and connections)")
	fl.IntVar(&f.clients, "clients", drill.DefaultClients, "independent keep-alive clients the load is spread over (round-robin)")
	fl.StringVar(&f.redis, "redis", "", "Redis address (default: an embedded store in the drill's process)")
	fl.StringVar(&f.ledger, "ledger", "", "where the service commits request ids: redis:KEY (a hash, HINCRBY KEY <X-Request-Id> 1 with each write) or http://host:port/path listing them; see docs/drill.md")
	fl.StringVar(&f.expectCounter, "expect-counter", "", "Redis key that must grow by the number of acknowledged (2xx) requests (weak: a net count; prefer --ledger)")
	fl.Var(secs(&f.settle, drill.DefaultSettle), "settle", "after the load, read the ledger and counter until they stay unchanged this long")
	fl.StringArrayVar(&f.env, "env", nil, "KEY=VALUE for every replica (repeatable)")
	fl.Var(secs(&f.startTimeout, drill.DefaultStartTimeout), "start-timeout", "how long replicas may take to become ready")
	fl.StringVar(&f.jsonFile, "json", "", "write the full result (every event and failure) to this file")
	addReportFlags(fl, &f.reports)
	addKubeFlags(fl, &f.kube)
	fl.Var(secs(&f.demoDelay, time.Second), "demo-delay", "demo only: delay between the 200 OK and the increment")
	fl.StringVar(&f.demoVariant, "demo-variant", "both", "demo only: both (naive, lameduck), naive, lameduck, crashsafe or all (the three)")
	chaosFlags(fl, &f)
	return cmd
}

var signals = map[string]syscall.Signal{
	"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT, "SIGHUP": syscall.SIGHUP,
	"SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2, "SIGWINCH": syscall.SIGWINCH, "SIGKILL": syscall.SIGKILL,
}

func parseSignal(s string) (syscall.Signal, error) {
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig, ok := signals[name]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown stop signal %q: use e.g. SIGTERM, SIGQUIT, SIGINT", s)
}

func d(s seconds) time.Duration { return time.Duration(s) }

// baseConfig turns the flags into a drill.Config (without the command).
func baseConfig(f *drillFlags) (drill.Config, error) {
	cfg := drill.Config{
		Env: f.env, Replicas: f.replicas, MaxSurge: rollout.IntOrPercent(f.maxSurge), MaxUnavailable: rollout.IntOrPercent(f.maxUnavailable),
		Rollouts: f.rollouts, MinReady: d(f.minReady), Grace: d(f.grace), PreStopSleep: d(f.prestopSleep), PreStopCommand: f.prestop,
		Nodes: f.nodes, Seed: f.seed, Rate: f.rate, Duration: d(f.duration), Warmup: d(f.warmup), Tail: d(f.tail),
		Protocol: f.protocol, GRPCRetry: f.grpcRetry, Method: strings.ToUpper(f.method), Path: f.path, Timeout: d(f.timeout), Workers: f.workers, Clients: f.clients,
		RedisAddr: f.redis, Ledger: f.ledger, ExpectCounter: f.expectCounter, Settle: d(f.settle), StartTimeout: d(f.startTimeout),
	}
	if err := chaosConfig(f, &cfg); err != nil {
		return cfg, err
	}
	if f.ledger != "" {
		if _, err := ledger.Parse(f.ledger); err != nil {
			return cfg, fmt.Errorf("--ledger: %v", err)
		}
	}
	if f.rollouts < 1 {
		return cfg, fmt.Errorf("--rollouts must be at least 1, not %d", f.rollouts)
	}
	switch f.protocol {
	case drill.ProtocolHTTP:
	case drill.ProtocolGRPC:
		if f.body != "" || len(f.headers) > 0 {
			return cfg, errors.New("--body and --header are for --protocol http; the gRPC load sends an empty request message")
		}
	default:
		return cfg, fmt.Errorf("--protocol must be http or grpc, not %q", f.protocol)
	}
	if f.body != "" {
		cfg.Body = []byte(f.body)
	}
	probe, err := drill.ParseReadiness(f.readiness)
	if err != nil {
		return cfg, err
	}
	probe.Period, probe.Timeout = d(f.readinessPeriod), d(f.readinessTimeout)
	probe.SuccessThreshold, probe.FailureThreshold, probe.InitialDelay = f.readinessSuccess, f.readinessFailure, d(f.readinessDelay)
	cfg.Readiness = probe
	if cfg.StopSignal, err = parseSignal(f.stopSignal); err != nil {
		return cfg, err
	}
	if cfg.Profile, err = drill.LookupProfile(f.profile); err != nil {
		return cfg, err
	}
	if f.lag != "" {
		p, err := drill.ParseLag(f.lag)
		if err != nil {
			return cfg, err
		}
		p.Name = f.profile + " (lag overridden)"
		cfg.Profile = p
	}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return cfg, fmt.Errorf("invalid header %q: want \"Name: value\"", h)
		}
		if cfg.Header == nil {
			cfg.Header = http.Header{}
		}
		cfg.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	for _, kv := range f.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return cfg, fmt.Errorf("invalid --env %q: want KEY=VALUE", kv)
		}
	}
	return cfg, nil
}

func runDrill(ctx context.Context, cmd *cobra.Command, f *drillFlags, args []string) error {
	if err := retryBudget(cmd.Flags()); err != nil {
		return err
	}
	if f.kube.on {
		return runKubeDrill(ctx, cmd, f, args)
	}
	for _, n := range kubeOnlyFlags {
		if cmd.Flags().Changed(n) {
			return usageError("drill: --%s needs --kube", n)
		}
	}
	demo := len(args) == 0
	if demo && cmd.ArgsLenAtDash() == 0 {
		return usageError("drill: no command after --: give the command to drill, e.g. lameduck drill -- ./myservice, or nothing at all for the demo")
	}
	if demo {
		for name, v := range demoDefaults {
			if f.protocol == drill.ProtocolGRPC && (name == "method" || name == "path") {
				continue // the gRPC demo calls DefaultGRPCMethod
			}
			if !cmd.Flags().Changed(name) {
				if err := cmd.Flags().Set(name, v); err != nil {
					return err
				}
			}
		}
		if !cmd.Flags().Changed("settle") {
			f.settle = seconds(time.Duration(f.demoDelay) + time.Second)
		}
	} else if cmd.ArgsLenAtDash() != 0 {
		return usageError("drill: put the command to drill after --, e.g. lameduck drill -- ./myservice (got %q)", args)
	}
	if f.protocol == drill.ProtocolGRPC && !cmd.Flags().Changed("path") {
		f.path = drill.DefaultGRPCMethod // the demo's too (internal/demo.GRPCMethod)
	}
	if err := checkRanges(cmd, f); err != nil {
		return usageError("drill: %v", err)
	}
	cfg, err := baseConfig(f)
	if err != nil {
		return usageError("drill: %v", err)
	}
	out := cmd.OutOrStdout()
	// The JSON document goes to stdout with --json -; the text report
	// then goes to stderr. A file is created before anything runs, so a
	// bad path fails at once.
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
		written := false
		defer func() {
			file.Close()
			if !written {
				os.Remove(f.jsonFile) // the drill did not run to the end
			}
		}()
		jsonOut = &markWriter{w: file, written: &written}
	}
	if err := f.reports.open(false); err != nil {
		return usageError("drill: %v", err)
	}
	defer f.reports.close()
	var progress io.Writer
	if fd := int(os.Stderr.Fd()); term.IsTerminal(fd) {
		progress = os.Stderr
		if w, _, err := term.GetSize(fd); err == nil && w > 0 {
			cfg.Width = w
		}
	}
	cfg.Progress = progress

	var runs []drill.Config
	if demo {
		if runs, err = demoRuns(cmd, f, cfg); err != nil {
			return err
		}
	} else {
		cfg.Command = args
		cfg.Name = strings.Join(args, " ")
		runs = []drill.Config{cfg}
	}

	var results []*analysis.Result
	var docRuns []report.Run
	for i, rc := range runs {
		if demo && i == 0 {
			report.Wrap(out, "", "", "lameduck drill: the demo counter service, naive then with lameduck, through the same rollout under the same load")
		}
		if progress == nil {
			fmt.Fprintf(os.Stderr, "lameduck drill: running %s\n", rc.Name)
		}
		tr, err := drill.Run(ctx, rc)
		if err != nil {
			var se *drill.SetupError
			if errors.As(err, &se) {
				return usageError("drill: %s: %v", rc.Name, err)
			}
			if ctx.Err() != nil {
				return &exitError{code: 130, err: fmt.Errorf("drill interrupted; replicas and the store were cleaned up")}
			}
			return &exitError{code: 1, err: err}
		}
		res := analysis.Analyze(tr)
		if i == 0 {
			fmt.Fprintln(out, "settings:")
			report.Settings(out, res)
			fmt.Fprintln(out)
		}
		report.Text(out, res)
		fmt.Fprintln(out)
		results = append(results, res)
		docRuns = append(docRuns, report.Run{Result: res, Trace: tr})
	}
	if len(results) > 1 {
		fmt.Fprintln(out, "== side by side ==")
		report.Comparison(out, results)
		fmt.Fprintln(out)
	}
	// The demo passes when the lameduck run is clean; a drill of a command
	// when it is clean.
	verdict := results[len(results)-1]
	code := 0
	if !verdict.Verdict.Pass {
		code = 1
	}
	if jsonOut != nil {
		if err := report.JSON(jsonOut, docRuns, code); err != nil {
			return usageError("drill: write --json: %v", err)
		}
	}
	if err := f.reports.write(out, docRuns); err != nil {
		return usageError("drill: %v", err)
	}
	if demo && len(results) > 1 {
		if code == 0 {
			fmt.Fprintln(out, demoPassLine(verdict.Name))
		} else {
			fmt.Fprintf(out, "The %s service failed the drill: see its report above.\n", verdict.Name)
		}
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// checkRanges rejects zero and negative values: each error names the flag
// and the range it accepts.
func checkRanges(cmd *cobra.Command, f *drillFlags) error {
	var errs []error
	atLeast := func(name string, v, lo int) {
		if v < lo {
			errs = append(errs, fmt.Errorf("--%s %d: want an integer >= %d", name, v, lo))
		}
	}
	atLeast("replicas", f.replicas, 1)
	atLeast("rollouts", f.rollouts, 1)
	atLeast("rate", f.rate, 1)
	atLeast("nodes", f.nodes, 1)
	atLeast("workers", f.workers, 1)
	atLeast("clients", f.clients, 1)
	atLeast("readiness-success", f.readinessSuccess, 1)
	atLeast("readiness-failure", f.readinessFailure, 1)
	positive := func(name string, d seconds) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("--%s %v: want a duration > 0 (e.g. 5s, or 5 for seconds)", name, time.Duration(d)))
		}
	}
	positive("readiness-period", f.readinessPeriod)
	positive("readiness-timeout", f.readinessTimeout)
	positive("grace", f.grace)
	positive("timeout", f.timeout)
	positive("settle", f.settle)
	positive("start-timeout", f.startTimeout)
	notNegative := func(name string, d seconds) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("--%s %v: want a duration >= 0", name, time.Duration(d)))
		}
	}
	notNegative("readiness-delay", f.readinessDelay)
	notNegative("min-ready", f.minReady)
	notNegative("prestop-sleep", f.prestopSleep)
	notNegative("duration", f.duration)
	notNegative("warmup", f.warmup)
	notNegative("tail", f.tail)
	notNegative("demo-delay", f.demoDelay)
	if f.prestopSleep > 0 && f.prestop != "" {
		errs = append(errs, errors.New("--prestop-sleep and --prestop: give one preStop hook, not both"))
	}
	return errors.Join(errs...)
}

// seconds is a duration flag that also accepts plain seconds ("30", "0.5"),
// as the LAMEDUCK_* environment variables do.
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }
func (s *seconds) Type() string   { return "duration" }
func (s *seconds) Set(v string) error {
	if d, err := time.ParseDuration(v); err == nil {
		*s = seconds(d)
		return nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("invalid duration %q: want e.g. 5s, 500ms or plain seconds like 5", v)
	}
	*s = seconds(time.Duration(x * float64(time.Second)))
	return nil
}

// demoRuns returns the demo's runs: the drill re-executes its own binary as
// `lameduck demo [--naive]`.
func demoRuns(cmd *cobra.Command, f *drillFlags, cfg drill.Config) ([]drill.Config, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, usageError("drill: cannot find the lameduck binary to run the demo: %v", err)
	}
	// The lameduck replicas get a drain delay that covers the slowest
	// balancer node, and the emulated pod's grace period.
	drain := (cfg.Profile.Max + 500*time.Millisecond).Round(100 * time.Millisecond)
	delay := f.demoDelay.String()
	notes := []string{
		fmt.Sprintf("demo: increment %s after the 200 OK; lameduck replicas get LAMEDUCK_DRAIN_DELAY=%s (>= max propagation lag %s), LAMEDUCK_GRACE_PERIOD=%s, LAMEDUCK_FLUSH_TIMEOUT=500ms, LAMEDUCK_CLOSE_TIMEOUT=500ms",
			delay, drain, cfg.Profile.Max, cfg.Grace),
	}
	naive := cfg
	naive.Name = "naive"
	naive.Command = []string{exe, "demo", "--naive", "--delay", delay}
	if cfg.Protocol == drill.ProtocolGRPC {
		naive.Command = append(naive.Command, "--protocol", "grpc")
	}
	naive.Notes = notes
	lame := cfg
	lame.Name = "lameduck"
	lame.Command = []string{exe, "demo", "--delay", delay}
	if cfg.Protocol == drill.ProtocolGRPC {
		lame.Command = append(lame.Command, "--protocol", "grpc")
	}
	// The demo has nothing to flush and one client to close: give the
	// budget to the drain delay and the pending increments instead of the
	// library's default 2s flush and 3s close reserves.
	lame.Env = append([]string{"LAMEDUCK_DRAIN_DELAY=" + drain.String(), "LAMEDUCK_FLUSH_TIMEOUT=500ms", "LAMEDUCK_CLOSE_TIMEOUT=500ms"}, cfg.Env...)
	lame.Notes = notes
	if !cmd.Flags().Changed("readiness") {
		probe := "/healthz" // the naive service has no readiness endpoint
		if cfg.Protocol == drill.ProtocolGRPC {
			probe = "tcp" // nor any HTTP one
		}
		p, _ := drill.ParseReadiness(probe)
		p.Period, p.Timeout = cfg.Readiness.Period, cfg.Readiness.Timeout
		p.SuccessThreshold, p.FailureThreshold, p.InitialDelay = cfg.Readiness.SuccessThreshold, cfg.Readiness.FailureThreshold, cfg.Readiness.InitialDelay
		naive.Readiness = p
		lp, _ := drill.ParseReadiness("admin:/readyz")
		lp.Period, lp.Timeout = p.Period, p.Timeout
		lp.SuccessThreshold, lp.FailureThreshold, lp.InitialDelay = p.SuccessThreshold, p.FailureThreshold, p.InitialDelay
		lame.Readiness = lp
	}
	lame.Lameduck = true
	switch f.demoVariant {
	case "both":
		return []drill.Config{naive, lame}, nil
	case "naive":
		return []drill.Config{naive}, nil
	case "lameduck":
		return []drill.Config{lame}, nil
	case "crashsafe":
		return []drill.Config{crashSafeRun(lame, delay)}, nil
	case "all":
		return []drill.Config{naive, lame, crashSafeRun(lame, delay)}, nil
	}
	return nil, usageError("drill: --demo-variant must be both, naive, lameduck, crashsafe or all, not %q", f.demoVariant)
}

// markWriter notes that something was written.
type markWriter struct {
	w       io.Writer
	written *bool
}

func (m *markWriter) Write(p []byte) (int, error) {
	*m.written = true
	return m.w.Write(p)
}
