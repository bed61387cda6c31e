package lint

import (
	"fmt"
	"path"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Rule is one check: an id, a severity, a one-line summary and a longer
// explanation (lameduck lint --explain ID).
type Rule struct {
	ID       string
	Severity Severity
	Summary  string
	Explain  string
	check    func(c *checker, w *Workload)
}

// Rule ids.
const (
	RuleBudgetOrder         = "budget-order"
	RulePreStopExceedsGrace = "prestop-exceeds-grace"
	RuleZeroGracePeriod     = "zero-grace-period"
	RuleEnvInvalid          = "lameduck-env-invalid"
	RuleEnvMismatch         = "lameduck-env-mismatch"
	RuleNoDrainDelay        = "no-drain-delay"
	RuleNoReadinessProbe    = "no-readiness-probe"
	RuleLivenessIsReadiness = "liveness-equals-readiness"
	RuleLivenessAggressive  = "liveness-aggressive"
	RuleSingleReplica       = "single-replica"
	RulePDBBlocksDrain      = "pdb-blocks-drain"
	RuleNoPDB               = "no-pdb"
	RuleSurgeUnavailable    = "surge-and-unavailable-zero"
	RuleShellPID1           = "shell-pid1"
	RuleQuitSignal          = "quit-signal-server"
	RulePreStopNoShell      = "prestop-sleep-no-shell"
)

// Rules returns every rule, in the order they are documented.
func Rules() []*Rule { return rules }

// RuleByID returns the rule with id, or nil.
func RuleByID(id string) *Rule {
	for _, r := range rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

var rules = []*Rule{
	{ID: RuleBudgetOrder, Severity: Error, check: checkBudgetOrder,
		Summary: "LB deregistration delay < preStop (+ drain delay) < application shutdown < terminationGracePeriodSeconds is violated"},
	{ID: RulePreStopExceedsGrace, Severity: Error, check: checkPreStopExceedsGrace,
		Summary: "the preStop hook can last as long as terminationGracePeriodSeconds: the container is killed without a graceful stop"},
	{ID: RuleZeroGracePeriod, Severity: Error, check: checkZeroGrace,
		Summary: "terminationGracePeriodSeconds is 0: containers are killed at once"},
	{ID: RuleEnvInvalid, Severity: Error, check: checkEnvInvalid,
		Summary: "the LAMEDUCK_* settings are invalid: the service will refuse to start"},
	{ID: RuleEnvMismatch, Severity: Warning, check: checkEnvMismatch,
		Summary: "LAMEDUCK_GRACE_PERIOD or LAMEDUCK_PRESTOP disagree with the pod's grace period or preStop hook"},
	{ID: RuleNoDrainDelay, Severity: Warning, check: checkNoDrainDelay,
		Summary: "behind a load balancer with neither a preStop delay nor a lameduck drain delay"},
	{ID: RuleNoReadinessProbe, Severity: Warning, check: checkNoReadiness,
		Summary: "a container that serves a port has no readiness probe"},
	{ID: RuleLivenessIsReadiness, Severity: Warning, check: checkLivenessIsReadiness,
		Summary: "liveness and readiness probes are identical"},
	{ID: RuleLivenessAggressive, Severity: Warning, check: checkLivenessAggressive,
		Summary: "the liveness probe restarts a container that is slow for only a few seconds"},
	{ID: RuleSingleReplica, Severity: Warning, check: checkSingleReplica,
		Summary: "a single replica: every node drain or eviction is an outage"},
	{ID: RulePDBBlocksDrain, Severity: Error, check: checkPDBBlocks,
		Summary: "a PodDisruptionBudget allows no disruption: node drains block"},
	{ID: RuleNoPDB, Severity: Info, check: checkNoPDB,
		Summary: "a multi-replica workload has no PodDisruptionBudget"},
	{ID: RuleSurgeUnavailable, Severity: Error, check: checkSurgeUnavailable,
		Summary: "maxSurge and maxUnavailable are both zero (rejected by the API server)"},
	{ID: RuleShellPID1, Severity: Error, check: checkShellPID1,
		Summary: "PID 1 is a shell that runs the server without exec: the stop signal never reaches the server"},
	{ID: RuleQuitSignal, Severity: Warning, check: checkQuitSignal,
		Summary: "a server that stops gracefully only on SIGQUIT gets SIGTERM"},
	{ID: RulePreStopNoShell, Severity: Warning, check: checkPreStopNoShell,
		Summary: "a preStop exec of sleep in an image that likely has no shell or sleep binary"},
}

func init() {
	for _, r := range rules {
		r.Explain = explanations[r.ID]
		if r.Explain == "" {
			panic("lint: rule " + r.ID + " has no explanation")
		}
	}
}

// checker collects findings for one workload.
type checker struct {
	rule     *Rule
	budgets  []*Budget
	findings []Finding
}

func (c *checker) report(w *Workload, container, fieldPath, format string, args ...any) {
	line, col := w.Pos(fieldPath)
	c.findings = append(c.findings, Finding{Rule: c.rule.ID, Severity: c.rule.Severity,
		Message: fmt.Sprintf(format, args...), File: w.File, Line: line, Column: col,
		Object: w.String(), Container: container})
}

func (c *checker) containers(w *Workload, fn func(i int, ct *corev1.Container, b *Budget)) {
	for i := range w.Spec.Containers {
		fn(i, &w.Spec.Containers[i], c.budgets[i])
	}
}

func prestopOrContainer(w *Workload, i int, b *Budget) string {
	if b.PreStop.Kind != PreStopNone {
		return b.PreStop.Path
	}
	return w.containerPath(i)
}

func graceZero(w *Workload) bool {
	g := w.Spec.TerminationGracePeriodSeconds
	return g != nil && *g == 0
}

func checkBudgetOrder(c *checker, w *Workload) {
	if graceZero(w) {
		return
	}
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if b.Lameduck && b.AppErr != nil {
			return // lameduck-env-invalid: the service does not even start
		}
		if b.LB != nil && b.ServingKnown && b.Serving > 0 && b.LB.Delay >= b.Serving {
			c.report(w, ct.Name, prestopOrContainer(w, i, b),
				"container %s: load balancer deregistration %s (%s; %s:%d) is not shorter than the time the server keeps accepting requests, T0+%s (%s): requests still routed to the pod find it closed; lengthen the preStop sleep or drain delay, or shorten the deregistration delay",
				ct.Name, fmtDur(b.LB.Delay), b.LB.Source, b.LB.File, b.LB.Line, fmtDur(b.Serving), servingParts(b))
		}
		if !b.Lameduck {
			return
		}
		if b.PreStop.Known && b.AppEnd >= b.Grace {
			c.report(w, ct.Name, w.SpecPath+".terminationGracePeriodSeconds",
				"container %s: the application's shutdown ends at T0+%s (preStop %s + drain %s + stop %s + flush %s + close %s), not before SIGKILL at T0+%s (terminationGracePeriodSeconds): it is cut off",
				ct.Name, fmtDur(b.AppEnd), fmtDur(prestopPart(b)), fmtDur(b.App.DrainDelay), fmtDur(b.App.Stop), fmtDur(b.App.Flush), fmtDur(b.App.Close), fmtDur(b.Grace))
		}
		for _, warn := range b.App.Warnings {
			c.report(w, ct.Name, envPath(w, i, ct, ""), "container %s: the application's budget does not fit: %s", ct.Name, warn)
		}
	})
}

func prestopPart(b *Budget) time.Duration {
	if b.PreStop.Drain {
		return 0
	}
	return b.PreStop.Duration
}

func servingParts(b *Budget) string {
	var parts []string
	switch {
	case b.PreStop.Drain:
		parts = append(parts, "preStop drain starts the drain delay at T0")
	case b.PreStop.Hold > 0:
		parts = append(parts, "preStop "+b.PreStop.Describe())
	}
	if b.Lameduck && b.AppErr == nil && b.App.DrainDelay > 0 {
		parts = append(parts, "drain delay "+fmtDur(b.App.DrainDelay))
	}
	if len(parts) == 0 {
		return "nothing holds it"
	}
	return strings.Join(parts, " + ")
}

func checkPreStopExceedsGrace(c *checker, w *Workload) {
	if graceZero(w) {
		return
	}
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if b.PreStop.Kind == PreStopNone || !b.PreStop.Known || b.PreStop.Duration < b.Grace {
			return
		}
		c.report(w, ct.Name, b.PreStop.Path,
			"container %s: preStop %s is not shorter than terminationGracePeriodSeconds %s: the kubelet kills the container (after a one-time 2s extension) before it is ever sent SIGTERM",
			ct.Name, b.PreStop.Describe(), fmtDur(b.Grace))
	})
}

func checkZeroGrace(c *checker, w *Workload) {
	if graceZero(w) {
		c.report(w, "", w.SpecPath+".terminationGracePeriodSeconds",
			"terminationGracePeriodSeconds is 0: containers are SIGKILLed at once, with no preStop hook and no graceful shutdown")
	}
}

// envPath is the field path of the env variable name in container i, or
// of the container's env list, or of the container.
func envPath(w *Workload, i int, ct *corev1.Container, name string) string {
	for j, e := range ct.Env {
		if e.Name == name {
			return w.containerPath(i) + ".env[" + itoa(j) + "]"
		}
	}
	if len(ct.Env) > 0 {
		return w.containerPath(i) + ".env"
	}
	return w.containerPath(i)
}

func checkEnvInvalid(c *checker, w *Workload) {
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if b.Lameduck && b.AppErr != nil {
			msg := strings.ReplaceAll(b.AppErr.Error(), "\n", "; ")
			c.report(w, ct.Name, envPath(w, i, ct, ""), "container %s: the service will exit with status 2 at start-up: %s", ct.Name, msg)
		}
	})
}

func checkEnvMismatch(c *checker, w *Workload) {
	if graceZero(w) {
		return
	}
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if !b.Lameduck || b.AppErr != nil {
			return
		}
		if g := b.AppOptions.GracePeriod; g != b.Grace {
			effect := "it plans a longer shutdown than it gets"
			if g < b.Grace {
				effect = "it gives up earlier than it needs to"
			}
			c.report(w, ct.Name, envPath(w, i, ct, "LAMEDUCK_GRACE_PERIOD"),
				"container %s: the application assumes a grace period of %s (LAMEDUCK_GRACE_PERIOD) but terminationGracePeriodSeconds is %s: %s; set LAMEDUCK_GRACE_PERIOD=%d",
				ct.Name, fmtDur(g), fmtDur(b.Grace), effect, int(b.Grace.Seconds()))
		}
		switch b.PreStop.Kind {
		case PreStopNone, PreStopSleep, PreStopExecSleep, PreStopLameduckSleep:
			if p := b.AppOptions.PreStop; p != b.PreStop.Duration {
				c.report(w, ct.Name, envPath(w, i, ct, "LAMEDUCK_PRESTOP"),
					"container %s: the application assumes its preStop hook takes %s (LAMEDUCK_PRESTOP) but the hook is %s; set LAMEDUCK_PRESTOP=%s",
					ct.Name, fmtDur(p), b.PreStop.Describe(), fmtDur(b.PreStop.Duration))
			}
		}
	})
}

func checkNoDrainDelay(c *checker, w *Workload) {
	if graceZero(w) || len(w.Services) == 0 {
		return
	}
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if len(ct.Ports) == 0 || !b.ServingKnown || b.Serving > 0 {
			return
		}
		why := "no preStop delay"
		if b.PreStop.Kind != PreStopNone {
			why = "a preStop hook (" + b.PreStop.Describe() + ") that does not wait"
		}
		c.report(w, ct.Name, prestopOrContainer(w, i, b),
			"container %s: Service %s sends it traffic, but with %s and no lameduck drain delay it stops accepting at T0, while endpoint removal takes seconds to reach kube-proxy and load balancers",
			ct.Name, w.Services[0].Name, why)
	})
}

func checkNoReadiness(c *checker, w *Workload) {
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if len(ct.Ports) > 0 && ct.ReadinessProbe == nil {
			c.report(w, ct.Name, w.containerPath(i),
				"container %s serves port %d but has no readinessProbe: it receives traffic before it is ready, and rollouts cannot wait for it",
				ct.Name, ct.Ports[0].ContainerPort)
		}
	})
}

// normalizedHandler makes named and numbered ports comparable.
func normalizedHandler(ct *corev1.Container, p *corev1.Probe) corev1.ProbeHandler {
	h := *p.ProbeHandler.DeepCopy()
	port := func(v *intstr.IntOrString) {
		if v.Type != intstr.String {
			return
		}
		for _, cp := range ct.Ports {
			if cp.Name == v.StrVal {
				*v = intstr.FromInt32(cp.ContainerPort)
			}
		}
	}
	if h.HTTPGet != nil {
		port(&h.HTTPGet.Port)
		if h.HTTPGet.Path == "" {
			h.HTTPGet.Path = "/"
		}
		if h.HTTPGet.Scheme == "" {
			h.HTTPGet.Scheme = corev1.URISchemeHTTP
		}
	}
	if h.TCPSocket != nil {
		port(&h.TCPSocket.Port)
	}
	return h
}

func checkLivenessIsReadiness(c *checker, w *Workload) {
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if ct.LivenessProbe == nil || ct.ReadinessProbe == nil {
			return
		}
		if reflect.DeepEqual(normalizedHandler(ct, ct.LivenessProbe), normalizedHandler(ct, ct.ReadinessProbe)) {
			c.report(w, ct.Name, w.containerPath(i)+".livenessProbe",
				"container %s: liveness and readiness probes check the same thing; a pod that is draining (not ready) or overloaded is then also restarted",
				ct.Name)
		}
	})
}

func checkLivenessAggressive(c *checker, w *Workload) {
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		p := ct.LivenessProbe
		if p == nil {
			return
		}
		period, failures := p.PeriodSeconds, p.FailureThreshold
		if period == 0 {
			period = 10
		}
		if failures == 0 {
			failures = 3
		}
		if window := seconds(int64(period) * int64(failures)); window < minLivenessWindow {
			c.report(w, ct.Name, w.containerPath(i)+".livenessProbe",
				"container %s: the liveness probe restarts the container after %s of failures (periodSeconds %d × failureThreshold %d); a pod that is slow for that long (a long drain, a GC pause, a slow dependency) is killed mid-request; allow at least %s",
				ct.Name, fmtDur(window), period, failures, fmtDur(minLivenessWindow))
		}
	})
}

// minLivenessWindow is the shortest liveness failure window not flagged.
const minLivenessWindow = 10 * time.Second

func replicas(w *Workload) (n int32, set bool) {
	if w.Replicas == nil {
		return 1, false
	}
	return *w.Replicas, true
}

func scalable(w *Workload) bool { return w.Kind == "Deployment" || w.Kind == "StatefulSet" }

func checkSingleReplica(c *checker, w *Workload) {
	if n, set := replicas(w); scalable(w) && set && n == 1 {
		c.report(w, "", "spec.replicas",
			"replicas: 1: every node drain, eviction or pod failure is an outage; run at least 2 replicas with a PodDisruptionBudget")
	}
}

// isZero reports whether v is 0 or "0%".
func isZero(v *intstr.IntOrString) bool {
	if v == nil {
		return false
	}
	if v.Type == intstr.Int {
		return v.IntVal == 0
	}
	s := strings.TrimSuffix(strings.TrimSpace(v.StrVal), "%")
	return strings.Trim(s, "0") == "" && s != ""
}

func checkPDBBlocks(c *checker, w *Workload) {
	n, _ := replicas(w)
	for _, p := range w.PDBs {
		spec := p.P.Spec
		var why, field string
		switch {
		case spec.MaxUnavailable != nil && isZero(spec.MaxUnavailable):
			why, field = "maxUnavailable is "+spec.MaxUnavailable.String(), "spec.maxUnavailable"
		case spec.MinAvailable != nil && spec.MinAvailable.Type == intstr.String && strings.TrimSpace(spec.MinAvailable.StrVal) == "100%":
			why, field = "minAvailable is 100%", "spec.minAvailable"
		case spec.MinAvailable != nil && spec.MinAvailable.Type == intstr.Int && w.Kind != "DaemonSet" && spec.MinAvailable.IntVal >= n:
			why, field = fmt.Sprintf("minAvailable %d is not below the %d replica(s)", spec.MinAvailable.IntVal, n), "spec.minAvailable"
		default:
			continue
		}
		line, col := p.Pos(field)
		c.findings = append(c.findings, Finding{Rule: c.rule.ID, Severity: c.rule.Severity, File: p.File, Line: line, Column: col,
			Object: w.String(),
			Message: fmt.Sprintf("PodDisruptionBudget %s for %s: %s, so no pod may ever be evicted: node drains (cluster upgrades, autoscaler scale-down) block until someone deletes the PDB",
				p.Name, w.String(), why)})
	}
}

func checkNoPDB(c *checker, w *Workload) {
	if n, set := replicas(w); scalable(w) && set && n > 1 && len(w.PDBs) == 0 {
		c.report(w, "", "spec.replicas",
			"%d replicas and no PodDisruptionBudget selects them: a node drain may evict all of them at once", n)
	}
}

func checkSurgeUnavailable(c *checker, w *Workload) {
	if w.StrategyPath != "" && isZero(w.MaxSurge) && isZero(w.MaxUnavailable) {
		c.report(w, "", w.StrategyPath,
			"maxSurge and maxUnavailable are both zero: the API server rejects this (a rollout could never make progress); use maxSurge: 1, maxUnavailable: 0 for zero-downtime rollouts")
	}
}

func argv(ct *corev1.Container) []string {
	return append(append([]string{}, ct.Command...), ct.Args...)
}

func checkShellPID1(c *checker, w *Workload) {
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		script, ok := isShell(argv(ct))
		if !ok || strings.Contains(script, "trap ") {
			return
		}
		cmds := splitScript(script)
		if len(cmds) == 0 {
			return
		}
		last := cmds[len(cmds)-1]
		if strings.HasPrefix(last, "exec ") {
			return
		}
		if len(cmds) == 1 && !strings.ContainsAny(last, "|&") {
			return // sh and bash exec a lone simple command themselves
		}
		field := w.containerPath(i) + ".command"
		if len(ct.Command) == 0 {
			field = w.containerPath(i) + ".args"
		}
		c.report(w, ct.Name, field,
			"container %s: PID 1 is %s running %q without exec: SIGTERM goes to the shell, which does not pass it on, so the server never shuts down gracefully and is SIGKILLed at the grace period; write \"exec %s\"",
			ct.Name, path.Base(argv(ct)[0]), truncate(last, 60), truncate(last, 60))
	})
}

// quitServer names the QUIT-graceful server a container runs, if any.
func quitServer(ct *corev1.Container) string {
	img := ct.Image
	if i := strings.LastIndexByte(img, '@'); i >= 0 {
		img = img[:i]
	}
	if i := strings.LastIndexByte(img, ':'); i > strings.LastIndexByte(img, '/') {
		img = img[:i]
	}
	repo := img
	for _, p := range []string{"docker.io/", "index.docker.io/", "library/"} {
		repo = strings.TrimPrefix(repo, p)
	}
	if strings.Contains(img, "ingress-nginx") || strings.Contains(img, "nginx-ingress") {
		return "" // ingress controllers handle SIGTERM themselves
	}
	for _, a := range argv(ct) {
		if b := path.Base(a); strings.HasPrefix(b, "unicorn") {
			return "unicorn"
		}
	}
	if strings.Contains(path.Base(img), "unicorn") {
		return "unicorn"
	}
	if repo == "nginx" {
		return "" // the official image sets STOPSIGNAL SIGQUIT
	}
	if len(ct.Command) > 0 && path.Base(ct.Command[0]) == "nginx" || strings.Contains(path.Base(img), "nginx") {
		return "nginx"
	}
	return ""
}

func checkQuitSignal(c *checker, w *Workload) {
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		server := quitServer(ct)
		if server == "" || b.PreStop.SendsQuit {
			return
		}
		if ct.Lifecycle != nil && ct.Lifecycle.StopSignal != nil && *ct.Lifecycle.StopSignal == corev1.SIGQUIT {
			return
		}
		c.report(w, ct.Name, w.containerPath(i),
			"container %s runs %s, which stops gracefully only on SIGQUIT (SIGTERM is its fast shutdown, cutting in-flight requests): set lifecycle.stopSignal: SIGQUIT or send QUIT from the preStop hook (lameduck prestop signal --signal QUIT --wait)",
			ct.Name, server)
	})
}

// shellless reports whether an image likely has no shell and no sleep binary.
func shellless(image string) bool {
	img := strings.ToLower(image)
	for _, s := range []string{"distroless", "chainguard/static", "ko.local", "/scratch"} {
		if strings.Contains(img, s) {
			return true
		}
	}
	return img == "scratch"
}

func checkPreStopNoShell(c *checker, w *Workload) {
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if b.PreStop.Shell == "" || !shellless(ct.Image) {
			return
		}
		c.report(w, ct.Name, b.PreStop.Path,
			"container %s: the preStop hook runs %s, but image %s likely has neither a shell nor sleep: the hook fails and the container gets SIGTERM at once; use the native sleep action (lifecycle.preStop.sleep.seconds, Kubernetes ≥ 1.30) or lameduck prestop sleep",
			ct.Name, b.PreStop.Shell, ct.Image)
	})
}
