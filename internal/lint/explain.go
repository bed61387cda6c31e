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
field (the default is 30 s) or set it to what the shutdown needs.

Not flagged: pods whose every container only idles (sleep infinity,
tail -f /dev/null) and declares no port, such as a toolbox pod: PID 1
ignores SIGTERM there, so grace 0 only avoids a pointless 30 s wait.`,

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

	RuleNoDrainDelay: `A Service (not headless, not a metrics-only port) sends traffic to this
container. When a pod is deleted, its endpoint removal takes from under a
second (kube-proxy in a small cluster) to tens of seconds (cloud load
balancers) to propagate, and during that time new requests still arrive.
If the server stops accepting at T0 (no preStop sleep, no lameduck drain
delay, no delay of its own), those requests are refused or reset.

lint counts a server's own delay when the manifests reveal it: lameduck's
LAMEDUCK_DRAIN_DELAY, CoreDNS's "health { lameduck 5s }" in a mounted
Corefile, Gatekeeper's webhook (--shutdown-delay, 10s by default), Knative's
activator and queue-proxy (45s drain), podinfo (3s), ingress-nginx's
--shutdown-grace-period. For any other server that waits on its own,
declare it on the workload or pod template:

  metadata:
    annotations:
      lameduck.dev/shutdown-delay: "5s"        # or "app=5s,proxy=0s"

Headless Services are not counted (clients resolve pod IPs themselves;
there is no kube-proxy or load balancer to drain). When a load balancer's
deregistration delay is known, budget-order reports the gap instead.

Fix: a preStop delay (native lifecycle.preStop.sleep.seconds, or
"lameduck prestop sleep 5s" in images without a shell), or lameduck's drain
delay (LAMEDUCK_DRAIN_DELAY, 5s by default in Kubernetes), or "lameduck
prestop drain", which starts the drain delay at T0.`,

	RuleNoReadinessProbe: `Without a readiness probe a container counts as ready as soon as it
starts: it gets traffic before it listens, and a rolling update replaces
old pods without waiting for the new ones to work. During shutdown, a
readiness probe is also what tells endpoint controllers the pod is going
(lameduck's /readyz turns 503 at the first instant of draining).

Severity: error when a Service in the input sends traffic to one of the
container's declared ports (not headless, not metrics-only); info when the
container declares ports and no Service in the input selects the pod at
all (the Service may live elsewhere). A port no Service targets (a sidecar's
backup port) is not flagged.`,

	RuleLivenessIsReadiness: `Readiness answers "send me traffic?", liveness "restart me?". A pod that
is draining or briefly overloaded should fail readiness and stay alive; if
liveness checks the same endpoint and gives up as soon as readiness does,
the kubelet restarts it too, cutting the requests it was finishing.

lint compares the handlers (port names resolved, HTTP headers and host
ignored: a cookie does not change what is checked) and the failure windows
(periodSeconds × failureThreshold). The same check with a clearly longer
liveness window (ingress-nginx's failureThreshold 5 vs 3, Knative's 120s
vs 25s) is an accepted pattern and not flagged. Better still: point
liveness at a cheap endpoint that stays 200 until exit (lameduck's /livez)
and readiness at one that fails while draining (/readyz).`,

	RuleLivenessAggressive: `The liveness probe restarts the container after periodSeconds ×
failureThreshold of consecutive failures. A window of a few seconds turns a
GC pause, a slow dependency or a long drain into a restart that cuts every
in-flight request (and, on kubelets before 1.21 or when draining is started
by /drain outside pod deletion, kills a pod that is shutting down
gracefully). lint flags windows under 10 s; the Kubernetes defaults give
30 s (10 s × 3).`,

	RuleSingleReplica: `With one replica behind a Service, evictions (node drains for upgrades,
the cluster autoscaler, preemption) and any pod failure leave no pod
serving. Rolling updates can be gapless with maxUnavailable: 0, but nothing
else can. Run at least 2 replicas, spread over nodes, with a
PodDisruptionBudget.

The count is spec.replicas or, when it is unset, the minReplicas of a
HorizontalPodAutoscaler in the input that targets the workload. Workloads
that no Service sends client traffic to (controllers, exporters,
leader-elected singletons, workloads whose Service is only for metrics)
are not flagged: one replica is usually by design there.`,

	RuleRemovedAPI: `Kubernetes stopped serving some apiVersions: extensions/v1beta1 and
apps/v1beta1/v1beta2 workloads (1.16), extensions/v1beta1 and
networking.k8s.io/v1beta1 Ingress (1.22), policy/v1beta1
PodDisruptionBudget (1.25), autoscaling/v2beta1 (1.25) and v2beta2 (1.26)
HorizontalPodAutoscaler. "kubectl apply" of such an object fails against
any current cluster. lint reports it and checks the object as if it had
the current apiVersion, so its other findings are still shown.`,

	RuleSidecarStopsFirst: `All regular containers of a pod get SIGTERM at the same moment (after
their own preStop hooks). A proxy that the main container reaches its
database or backend through (cloud-sql-proxy, AlloyDB auth proxy) exits
at SIGTERM by default, while the main container is still finishing
requests that need it: they fail.

Fix: make it a native sidecar, an init container with restartPolicy:
Always (Kubernetes ≥ 1.29, on by default): the kubelet sends it SIGTERM
only after every regular container has exited, sidecars in the reverse
order of their declaration. Or make it wait: --max-sigterm-delay
(cloud-sql-proxy v2) or -term_timeout (v1), or a preStop sleep as long as
the main container's shutdown.`,

	RuleStopSignal: `lifecycle.stopSignal (the ContainerStopSignals feature: alpha in Kubernetes
1.33, beta in 1.37; k8s.io/api has the field) chooses the signal the kubelet sends instead of the image's
STOPSIGNAL. lint understands it (quit-signal-server accepts SIGQUIT set
this way) and reports: a stopSignal on a pod without spec.os.name (the API
server rejects the pod); SIGKILL (no graceful stop at all); and a signal
other than SIGTERM or SIGINT on a lameduck service, which drains only on
those (for a Go program SIGQUIT dumps goroutines and exits 2).`,

	RuleIdleTimeout: `A load balancer keeps idle keep-alive connections to the pods open for
reuse. If the server closes an idle connection first, the load balancer
may send a request on it just as it closes: the request fails (AWS ALB
answers 502). The server's keep-alive idle timeout must be longer than the
load balancer's.

lint reports it only where the manifests reveal both: the load balancer
(ALB: idle_timeout.timeout_seconds in
alb.ingress.kubernetes.io/load-balancer-attributes, 60s by default;
ingress-nginx: upstream-keepalive-timeout, 60s by default; classic ELB:
aws-load-balancer-connection-idle-timeout) and the server (gunicorn
--keep-alive, 2s by default; uvicorn --timeout-keep-alive, 5s by default).`,

	RuleAnnotationInvalid: `lint reads lameduck.dev/shutdown-delay ("5s", or per container
"app=5s,proxy=0s") on a workload or its pod template. A value that is not
a Go duration is reported instead of being ignored: a typo there would
otherwise silently turn the declared delay into "no delay" (or hide a real
no-drain-delay finding behind a delay that is not there). Fix the value,
or remove the annotation.`,

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
command, or run it directly.

lint joins backslash-newline continuations and ignores what is inside
quotes and $(...). A loop (while … done) as PID 1 is reported as such: it
ignores SIGTERM and every stop ends in SIGKILL. "bash -c" with one simple
command is fine: bash execs it. "sh -c" with one simple command is a
warning: busybox sh and dash ≥ 0.5.11 exec it too, older dash (Debian ≤ 10,
Ubuntu ≤ 20.04 images) does not.`,

	RuleQuitSignal: `Some servers treat SIGTERM as "stop now" and only SIGQUIT as "stop
gracefully": Unicorn (QUIT waits for workers to finish their requests,
TERM kills them) and nginx (QUIT is graceful, TERM is fast shutdown). The
official nginx image sets STOPSIGNAL SIGQUIT, which container runtimes
honour, so it is not flagged; other images are. Fix: lifecycle.stopSignal:
SIGQUIT (ContainerStopSignals: alpha in Kubernetes 1.33, beta in 1.37; needs
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
