package lint

import (
	"fmt"
	"path"
	"reflect"
	"slices"
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
	RuleRemovedAPI          = "removed-api-version"
	RuleSidecarStopsFirst   = "sidecar-stops-first"
	RuleStopSignal          = "stop-signal"
	RuleIdleTimeout         = "idle-timeout"
	RuleAnnotationInvalid   = "annotation-invalid"
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

// Severities follow kube-score and golangci-lint: an error is a
// shutdown that fails requests or loses work (or a manifest the API server
// rejects), and fails CI by default (--fail-on error); a warning is a
// risk worth a look; info is a suggestion. A finding may be milder than
// its rule's default when lint is less sure (see each rule's
// explanation).
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
	{ID: RuleNoDrainDelay, Severity: Error, check: checkNoDrainDelay,
		Summary: "a Service sends it traffic, but nothing keeps it accepting after T0 (no preStop delay, no drain delay)"},
	{ID: RuleNoReadinessProbe, Severity: Error, check: checkNoReadiness,
		Summary: "a container that a Service sends traffic to has no readiness probe (info when no Service is in the input)"},
	{ID: RuleLivenessIsReadiness, Severity: Error, check: checkLivenessIsReadiness,
		Summary: "liveness and readiness probes check the same thing with the same patience: a draining pod is restarted"},
	{ID: RuleLivenessAggressive, Severity: Warning, check: checkLivenessAggressive,
		Summary: "the liveness probe restarts a container that is slow for only a few seconds"},
	{ID: RuleSingleReplica, Severity: Warning, check: checkSingleReplica,
		Summary: "a single replica behind a Service: every node drain or eviction is an outage"},
	{ID: RulePDBBlocksDrain, Severity: Error, check: checkPDBBlocks,
		Summary: "a PodDisruptionBudget allows no disruption: node drains block"},
	{ID: RuleNoPDB, Severity: Info, check: checkNoPDB,
		Summary: "a multi-replica workload has no PodDisruptionBudget"},
	{ID: RuleSurgeUnavailable, Severity: Error, check: checkSurgeUnavailable,
		Summary: "maxSurge and maxUnavailable are both zero (rejected by the API server)"},
	{ID: RuleShellPID1, Severity: Error, check: checkShellPID1,
		Summary: "PID 1 is a shell that runs the server without exec: the stop signal never reaches the server"},
	{ID: RuleQuitSignal, Severity: Error, check: checkQuitSignal,
		Summary: "a server that stops gracefully only on SIGQUIT gets SIGTERM (set lifecycle.stopSignal: SIGQUIT)"},
	{ID: RulePreStopNoShell, Severity: Warning, check: checkPreStopNoShell,
		Summary: "a preStop exec of sleep in an image that likely has no shell or sleep binary"},
	{ID: RuleRemovedAPI, Severity: Error, check: checkRemovedAPI,
		Summary: "an apiVersion Kubernetes no longer serves: the API server rejects the object"},
	{ID: RuleSidecarStopsFirst, Severity: Error, check: checkSidecarStopsFirst,
		Summary: "a proxy sidecar run as a regular container exits at SIGTERM while the main container still needs it"},
	{ID: RuleStopSignal, Severity: Error, check: checkStopSignal,
		Summary: "lifecycle.stopSignal is rejected (no spec.os.name) or is a signal the server does not drain on"},
	{ID: RuleIdleTimeout, Severity: Error, check: checkIdleTimeout,
		Summary: "the server closes idle keep-alive connections before the load balancer does: requests on them fail (502)"},
	{ID: RuleAnnotationInvalid, Severity: Error, check: checkAnnotationInvalid,
		Summary: "a lameduck.dev/ annotation lint reads is malformed"},
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
	c.reportSev(c.rule.Severity, w, container, fieldPath, format, args...)
}

// reportSev reports a finding milder (or graver) than the rule's default.
func (c *checker) reportSev(sev Severity, w *Workload, container, fieldPath, format string, args ...any) {
	line, col := w.Pos(fieldPath)
	c.findings = append(c.findings, Finding{Rule: c.rule.ID, Severity: sev,
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
		if lbOutlasts(b) {
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

// lbOutlasts reports whether a known load balancer keeps sending requests
// after the server stopped accepting them.
func lbOutlasts(b *Budget) bool {
	return b.LB != nil && len(b.Served) > 0 && b.ServingKnown && b.LB.Delay > 0 && b.LB.Delay >= b.Serving
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
	if b.Own != nil && b.Own.Delay > 0 {
		parts = append(parts, "the server's own delay "+fmtDur(b.Own.Delay))
	}
	if len(parts) == 0 {
		return "nothing holds it: it stops accepting at T0"
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

// idle reports whether every container only idles (sleep infinity, tail
// -f /dev/null: a toolbox pod) and none is served: with nothing to stop
// gracefully, and PID 1 ignoring SIGTERM, grace 0 just avoids a pointless
// wait.
func idle(w *Workload) bool {
	for i := range w.Spec.Containers {
		ct := &w.Spec.Containers[i]
		a := argv(ct)
		if script, ok := isShell(a); ok {
			a = strings.Fields(script)
		}
		if len(a) == 0 || len(ct.Ports) > 0 {
			return false
		}
		switch path.Base(a[0]) {
		case "sleep":
			if len(a) != 2 || (a[1] != "infinity" && !strings.HasSuffix(a[1], "d")) {
				return false
			}
		case "tail":
			if !slices.Contains(a, "/dev/null") {
				return false
			}
		default:
			return false
		}
	}
	return len(w.Spec.Containers) > 0
}

func checkZeroGrace(c *checker, w *Workload) {
	if graceZero(w) && !idle(w) {
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
	if graceZero(w) {
		return
	}
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if len(b.Served) == 0 || !b.ServingKnown || b.Serving > 0 || lbOutlasts(b) {
			return // lbOutlasts: budget-order reports it, with the numbers
		}
		why := "no preStop delay"
		if b.PreStop.Kind != PreStopNone {
			why = "a preStop hook (" + b.PreStop.Describe() + ") that does not wait"
		}
		if b.Own != nil {
			why += " (" + b.Own.Source + ")"
		}
		c.report(w, ct.Name, prestopOrContainer(w, i, b),
			"container %s: Service %s sends it traffic, but with %s and no lameduck drain delay it stops accepting at T0, while endpoint removal takes seconds to reach kube-proxy and load balancers",
			ct.Name, b.Served[0].Name, why)
	})
}

func checkNoReadiness(c *checker, w *Workload) {
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if len(ct.Ports) == 0 || ct.ReadinessProbe != nil {
			return
		}
		switch {
		case len(b.Served) > 0:
			c.report(w, ct.Name, w.containerPath(i),
				"container %s gets traffic from Service %s but has no readinessProbe: it receives requests before it is ready and while it shuts down, and rollouts cannot wait for it",
				ct.Name, b.Served[0].Name)
		case len(w.Services) == 0:
			c.reportSev(Info, w, ct.Name, w.containerPath(i),
				"container %s declares port %d but has no readinessProbe; no Service in the input selects it (if one does elsewhere, it gets traffic before it is ready)",
				ct.Name, ct.Ports[0].ContainerPort)
		}
	})
	// A native sidecar that receives the traffic (an inbound proxy) needs
	// one too: its readiness counts for the pod's.
	for i := range w.Spec.InitContainers {
		ct := &w.Spec.InitContainers[i]
		if ct.RestartPolicy == nil || *ct.RestartPolicy != corev1.ContainerRestartPolicyAlways || ct.ReadinessProbe != nil {
			continue
		}
		if served := w.servingServices(ct); len(served) > 0 {
			c.report(w, ct.Name, w.SpecPath+".initContainers["+itoa(i)+"]",
				"native sidecar %s gets traffic from Service %s but has no readinessProbe: it receives requests before it is ready and while the pod shuts down",
				ct.Name, served[0].Name)
		}
	}
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
		h.HTTPGet.HTTPHeaders = nil // a header (a cookie, a user agent) does not change what is checked
		h.HTTPGet.Host = ""
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
		if !reflect.DeepEqual(normalizedHandler(ct, ct.LivenessProbe), normalizedHandler(ct, ct.ReadinessProbe)) {
			return
		}
		live, ready := failureWindow(ct.LivenessProbe), failureWindow(ct.ReadinessProbe)
		if live > ready {
			return // readiness takes the pod out of rotation well before liveness restarts it
		}
		c.report(w, ct.Name, w.containerPath(i)+".livenessProbe",
			"container %s: liveness and readiness probes check the same thing, and liveness gives up after %s, no later than readiness (%s): a pod that is draining or overloaded is restarted instead of only taken out of rotation; point liveness at a check that stays healthy while draining, or give it a higher failureThreshold",
			ct.Name, fmtDur(live), fmtDur(ready))
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

// failureWindow is how long a probe fails before it acts: periodSeconds ×
// failureThreshold (Kubernetes defaults 10 and 3).
func failureWindow(p *corev1.Probe) time.Duration {
	period, failures := p.PeriodSeconds, p.FailureThreshold
	if period == 0 {
		period = 10
	}
	if failures == 0 {
		failures = 3
	}
	return seconds(int64(period) * int64(failures))
}

// minLivenessWindow is the shortest liveness failure window not flagged.
const minLivenessWindow = 10 * time.Second

func replicas(w *Workload) (n int32, set bool) { return w.replicaCount() }

func scalable(w *Workload) bool {
	switch w.Kind {
	case "Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "Rollout":
		return true
	}
	return false
}

// replicasPath is where the replica count comes from.
func replicasPath(w *Workload) string {
	if w.Replicas == nil && len(w.HPAs) > 0 {
		return ""
	}
	return "spec.replicas"
}

func checkSingleReplica(c *checker, w *Workload) {
	n, set := replicas(w)
	if !scalable(w) || !set || n != 1 || !w.served() {
		return // without a Service in front, one replica is often by design (controllers, exporters, leader-elected singletons)
	}
	if w.Replicas == nil && len(w.HPAs) > 0 {
		h := w.HPAs[0]
		line, col := h.Pos("spec.minReplicas")
		c.findings = append(c.findings, Finding{Rule: c.rule.ID, Severity: c.rule.Severity, File: h.File, Line: line, Column: col,
			Object: w.String(), Message: fmt.Sprintf("HorizontalPodAutoscaler %s lets %s scale down to 1 replica (minReplicas), and a Service sends it traffic: at that size every node drain, eviction or pod failure is an outage; set minReplicas: 2 with a PodDisruptionBudget", h.Name, w.String())})
		return
	}
	c.report(w, "", replicasPath(w),
		"replicas: 1 and a Service sends it traffic: every node drain, eviction or pod failure is an outage; run at least 2 replicas with a PodDisruptionBudget")
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
		cmds := shellCommands(script)
		if len(cmds) == 0 {
			return
		}
		last := cmds[len(cmds)-1]
		if firstWord(last.text) == "exec" {
			return
		}
		field := w.containerPath(i) + ".command"
		if len(ct.Command) == 0 {
			field = w.containerPath(i) + ".args"
		}
		shell := path.Base(argv(ct)[0])
		grace := fmtDur(seconds(30))
		if g := w.Spec.TerminationGracePeriodSeconds; g != nil {
			grace = fmtDur(seconds(*g))
		}
		loop := false
		for _, cmd := range cmds {
			switch firstWord(cmd.text) {
			case "while", "until", "for":
				loop = true
			}
		}
		switch {
		case loop && (last.text == "done" || strings.HasSuffix(last.text, " done") || strings.HasPrefix(last.text, "done")):
			c.report(w, ct.Name, field,
				"container %s: PID 1 is %s running a loop (while … done): a shell that is PID 1 ignores SIGTERM unless it sets a trap, so every stop waits the full grace period (%s) and ends in SIGKILL; add trap 'exit 0' TERM (and run the loop body so the trap can fire), or set a short terminationGracePeriodSeconds if nothing needs a graceful stop",
				ct.Name, shell, grace)
		case len(cmds) == 1 && !last.piped && !last.background:
			if shell == "bash" {
				return // bash execs the lone simple command of -c itself
			}
			c.reportSev(Warning, w, ct.Name, field,
				"container %s: PID 1 is %s -c with one command, %q: bash, busybox sh and dash ≥ 0.5.11 exec it themselves, but older dash (Debian ≤ 10, Ubuntu ≤ 20.04 images) stays PID 1 and does not pass SIGTERM on; write \"exec %s\" to be sure",
				ct.Name, shell, truncate(last.text, 60), truncate(last.text, 60))
		default:
			c.report(w, ct.Name, field,
				"container %s: PID 1 is %s running %q without exec: SIGTERM goes to the shell, which does not pass it on, so the server never shuts down gracefully and is SIGKILLed at the grace period (%s); write \"exec %s\"",
				ct.Name, shell, truncate(last.text, 60), grace, truncate(last.text, 60))
		}
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
