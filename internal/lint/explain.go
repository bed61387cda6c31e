package lint

// explanations are shown by "lameduck lint --explain ID".
var explanations = map[string]string{
	RuleBudgetOrder: `When Kubernetes stops a pod (T0), three things start at the same moment:
the endpoint is removed (kube-proxy, ingress controllers and cloud load
balancers learn it seconds later), the preStop hook runs, and the
terminationGracePeriodSeconds countdown starts. SIGTERM is sent only when
preStop returns; SIGKILL comes at T0 + terminationGracePeriodSeconds.

A pod stops without failing a request only if these happen in order:

  LB deregistration delay < preStop (+ drain delay) < application shutdown < terminationGracePeriodSeconds

- The server must keep accepting requests (preStop sleep, then lameduck's
  drain delay) until every load balancer has stopped sending new ones.
  lint reads the delay from the AWS Load Balancer Controller's
  target-group-attributes annotation (deregistration_delay.timeout_seconds,
  300 s by default) and models ingress-nginx's endpoint sync as 5 s.
- The application's whole shutdown (drain + stop + flush + close, from
  lameduck's LAMEDUCK_* settings) must end before SIGKILL.

lint computes the application's budget with the lameduck library's own
code (OptionsFromEnv, Budget), so the numbers are the ones the service
will use. The finding names the numbers; fix whichever side is wrong.`,

	RulePreStopExceedsGrace: `terminationGracePeriodSeconds counts from the start of the preStop
hook, not from SIGTERM. If the hook is still running when the grace period
ends, the kubelet gives it a one-time 2 s extension and then kills the
container: the application never receives SIGTERM and never shuts down
gracefully. Keep preStop well below the grace period, leaving room for the
application's own shutdown:

  preStop + drain delay + stop + flush + close < terminationGracePeriodSeconds

For "lameduck prestop drain" and "prestop signal --wait" the duration
counted is their --timeout.`,

	RuleZeroGracePeriod: `terminationGracePeriodSeconds: 0 makes the kubelet kill the containers
immediately (SIGKILL), skipping the preStop hook and any graceful shutdown.
Every in-flight request fails and acknowledged work may be lost. Remove the
field (the default is 30 s) or set it to what the shutdown needs.`,

	RuleEnvInvalid: `The container configures lameduck through LAMEDUCK_* variables, and the
library rejects them (it exits with status 2 at start-up, naming the
variable). lint runs the library's own validation (OptionsFromEnv), so the
message is the one the service would print. Typical causes: a value that is
neither a Go duration ("5s") nor plain seconds ("5"); a drain delay that
does not fit in the budget grace period − preStop − kill margin.`,

	RuleEnvMismatch: `lameduck cannot read the pod spec, so it is told the two numbers that
shape its budget: LAMEDUCK_GRACE_PERIOD (terminationGracePeriodSeconds,
default 30s) and LAMEDUCK_PRESTOP (how long the preStop hook runs before
SIGTERM, default 0s). Its budget is

  GRACE_PERIOD − PRESTOP − KILL_MARGIN   (from SIGTERM)

If the variables disagree with the manifest, the service plans for time it
does not have (and is SIGKILLed mid-shutdown) or gives up earlier than it
needs to. Set them from the same numbers as the manifest (with a "lameduck
prestop drain" hook, LAMEDUCK_PRESTOP does not matter: the drain starts at
T0 and the budget is GRACE_PERIOD − KILL_MARGIN).`,

	RuleNoDrainDelay: `A Service sends traffic to these pods. When a pod is deleted, its endpoint
removal takes from under a second (kube-proxy in a small cluster) to tens of
seconds (cloud load balancers) to propagate, and during that time new
requests still arrive. If the server stops accepting at T0 (no preStop
sleep, no lameduck drain delay), those requests are refused or reset.

Fix: a preStop delay (native lifecycle.preStop.sleep.seconds, or
"lameduck prestop sleep 5s" in images without a shell), or lameduck's drain
delay (LAMEDUCK_DRAIN_DELAY, 5s by default in Kubernetes), or "lameduck
prestop drain", which starts the drain delay at T0.`,

	RuleNoReadinessProbe: `Without a readiness probe a container counts as ready as soon as it
starts: it gets traffic before it listens, and a rolling update replaces
old pods without waiting for the new ones to work. During shutdown, a
readiness probe is also what tells endpoint controllers the pod is going
(lameduck's /readyz turns 503 at the first instant of draining).`,

	RuleLivenessIsReadiness: `Readiness answers "send me traffic?", liveness "restart me?". A pod that
is draining or briefly overloaded should fail readiness and stay alive; if
liveness checks the same endpoint, the kubelet restarts it too, cutting the
requests it was finishing. Point liveness at a cheap endpoint that stays 200
until exit (lameduck's /livez) and readiness at one that fails while
draining (/readyz).`,

	RuleLivenessAggressive: `The liveness probe restarts the container after periodSeconds ×
failureThreshold of consecutive failures. A window of a few seconds turns a
GC pause, a slow dependency or a long drain into a restart that cuts every
in-flight request (and, on kubelets before 1.21 or when draining is started
by /drain outside pod deletion, kills a pod that is shutting down
gracefully). lint flags windows under 10 s; the Kubernetes defaults give
30 s (10 s × 3).`,

	RuleSingleReplica: `With one replica, evictions (node drains for upgrades, the cluster
autoscaler, preemption) and any pod failure leave no pod serving. Rolling
updates can be gapless with maxUnavailable: 0, but nothing else can. Run at
least 2 replicas, spread over nodes, with a PodDisruptionBudget.`,

	RulePDBBlocksDrain: `A PodDisruptionBudget with maxUnavailable: 0, minAvailable: 100%, or a
minAvailable not below the replica count never allows an eviction.
"kubectl drain", cluster upgrades and the cluster autoscaler wait forever
(or until someone deletes the PDB), which is how such a PDB ends up doing
more harm than good. Use maxUnavailable: 1 (or minAvailable below the
replica count).`,

	RuleNoPDB: `Voluntary disruptions (node drains, autoscaler scale-down) may evict any
number of pods of a workload at once unless a PodDisruptionBudget limits
them. A PDB with maxUnavailable: 1 keeps the others serving. This is
informational: the PDB may live in files lint was not given.`,

	RuleSurgeUnavailable: `A RollingUpdate with maxSurge: 0 and maxUnavailable: 0 could neither add
a new pod nor remove an old one, so the API server rejects it. For
zero-downtime rollouts use maxSurge: 1 (or 25%), maxUnavailable: 0.`,

	RuleShellPID1: `When a container's command is "sh -c 'setup; server'", the shell is PID 1
and the server its child. The kubelet's SIGTERM goes to PID 1; a shell
does not pass signals on to its children (and as PID 1 it ignores SIGTERM
unless it set a trap), so the server keeps running until SIGKILL at the end
of the grace period: no graceful shutdown, and every rollout takes the
full grace period. Start the server with "exec server ..." as the last
command, or run it directly.`,

	RuleQuitSignal: `Some servers treat SIGTERM as "stop now" and only SIGQUIT as "stop
gracefully": Unicorn (QUIT waits for workers to finish their requests,
TERM kills them) and nginx (QUIT is graceful, TERM is fast shutdown). The
official nginx image sets STOPSIGNAL SIGQUIT, which container runtimes
honour, so it is not flagged; other images are. Fix: lifecycle.stopSignal:
SIGQUIT (Kubernetes ≥ 1.33 with the ContainerStopSignals feature, needs
spec.os.name), or a preStop hook that sends QUIT and waits:
"lameduck prestop signal --pid 1 --signal QUIT --wait --timeout 25s".`,

	RulePreStopNoShell: `A preStop exec hook of "sleep 5" or "sh -c 'sleep 5'" needs the sleep binary
(and a shell) inside the image. Distroless, scratch and ko-built images
have neither: the hook fails at once (FailedPreStopHook in the pod's
events) and SIGTERM follows immediately, so the delay never happens. Use
the native action (lifecycle.preStop.sleep.seconds: 5, beta and on by
default since Kubernetes 1.30, GA in 1.34) or ship the lameduck binary and
run "lameduck prestop sleep 5s".`,
}
