package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/lameduck-dev/lameduck/internal/chaoskill"
	"github.com/lameduck-dev/lameduck/internal/drill/backend"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// ChaosPodLabel marks the drill's chaos agent pods (one per node that held
// a victim; deleted at the end).
const ChaosPodLabel = "lameduck.dev/drill-chaos"

// ChaosSpec is --chaos on a cluster: the workload's pods SIGKILLed at
// drawn moments, from the rollout's trigger on, while the rollout and the
// load run.
//
// A kill is a real SIGKILL to every process of the pod's running
// containers, sent from an agent pod on the victim's node (the lameduck
// image running `lameduck chaos-agent`: hostPID, root with CAP_KILL only;
// the drill execs `lameduck chaos-kill CONTAINER-ID...` in it), because
// the API has no way to SIGKILL a container: a deletion, even with
// --grace-period=0, sends the stop signal and runs the preStop hook first.
// As after an OOM kill, the pod is not deleted: the kubelet reports the
// exit (137), marks the pod not ready and restarts the container in place
// (restartPolicy Always), so the "replacement" is the pod's next container
// instance, named POD#N in the trace (N: its restart count). Node scope
// kills every running pod of the workload on the victim's node at once;
// the node itself stays (a lost node's pods are replaced only after the
// node controller's eviction timeout, 5 minutes by default, which a drill
// does not wait for).
type ChaosSpec struct {
	// Spec and Scope are --chaos and --chaos-scope in words.
	Spec  string
	Scope string
	// Window is how long kills may happen after the trigger; Moments are
	// the kills' offsets from the trigger, sorted, each < Window.
	Window  time.Duration
	Moments []time.Duration
	// Rand picks the victims (seeded by --seed).
	Rand *rand.Rand
}

// AgentPod is the chaos agent on one node: it only waits (`lameduck
// chaos-agent`) until the drill deletes it or deadline passes; the drill
// execs `lameduck chaos-kill` in it. hostPID is what it needs (from inside
// a container's PID namespace, its PID 1 ignores SIGKILL), with root's
// CAP_KILL and no other capability.
func AgentPod(ns, node, image, runID string, index int, pullNever bool, deadline time.Duration) *corev1.Pod {
	pull := corev1.PullIfNotPresent
	if pullNever {
		pull = corev1.PullNever
	}
	grace := int64(1)
	root := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("lameduck-chaos-%s-%d", runID, index),
			Namespace: ns,
			Labels:    map[string]string{ChaosPodLabel: runID},
		},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			HostPID:                       true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  new(bool),
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name:            "agent",
				Image:           image,
				ImagePullPolicy: pull,
				Args:            []string{"chaos-agent", "--deadline", deadline.String()},
				SecurityContext: &corev1.SecurityContext{
					RunAsUser: &root,
					Capabilities: &corev1.Capabilities{
						Drop: []corev1.Capability{"ALL"},
						Add:  []corev1.Capability{"KILL"},
					},
				},
			}},
		},
	}
}

// chaos runs ChaosSpec's kills during one drill.
type chaos struct {
	c        *Cluster
	sel      labels.Selector
	spec     ChaosSpec
	rec      *Recorder
	runID    string
	image    string
	pull     bool
	deadline time.Duration
	say      func(string, ...any)

	mu     sync.Mutex
	agents map[string]string // node -> agent pod
	nodes  []string          // node names in first-use order (trace.Kill.Node indexes them)
	killed map[string]bool   // pods killed at least once
	tr     trace.Chaos
}

// agent returns the agent pod on node, creating it (and waiting until it
// runs) on first use.
func (ch *chaos) agent(ctx context.Context, node string) (string, error) {
	ch.mu.Lock()
	name, ok := ch.agents[node]
	idx := len(ch.agents)
	ch.mu.Unlock()
	if ok {
		return name, nil
	}
	pods := ch.c.CS.CoreV1().Pods(ch.c.Target.Namespace)
	p, err := pods.Create(ctx, AgentPod(ch.c.Target.Namespace, node, ch.image, ch.runID, idx, ch.pull, ch.deadline),
		metav1.CreateOptions{FieldManager: "lameduck-drill"})
	if err != nil {
		return "", fmt.Errorf("chaos agent pod on node %s: %w (the namespace must admit hostPID pods: docs/kubernetes.md)", node, err)
	}
	ch.mu.Lock()
	ch.agents[node] = p.Name
	ch.mu.Unlock()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cur, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		switch cur.Status.Phase {
		case corev1.PodRunning:
			return p.Name, nil
		case corev1.PodFailed, corev1.PodSucceeded:
			return "", fmt.Errorf("chaos agent pod %s ended (%s %s)", p.Name, cur.Status.Reason, cur.Status.Message)
		}
		for _, cs := range cur.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImageNeverPull" || w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "CreateContainerConfigError") {
				return "", fmt.Errorf("chaos agent pod %s: %s: %s", p.Name, w.Reason, w.Message)
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("chaos agent pod %s not running after 2m", p.Name)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// cleanup deletes the agent pods.
func (ch *chaos) cleanup(ctx context.Context) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, name := range ch.agents {
		_ = ch.c.CS.CoreV1().Pods(ch.c.Target.Namespace).Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{})
	}
}

// prepare starts the agents on the nodes that hold the workload's pods now,
// so that the first kills are not delayed by an agent's start.
func (ch *chaos) prepare(ctx context.Context) error {
	list, err := ch.c.CS.CoreV1().Pods(ch.c.Target.Namespace).List(ctx, metav1.ListOptions{LabelSelector: ch.sel.String()})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range list.Items {
		if n := p.Spec.NodeName; n != "" && !seen[n] {
			seen[n] = true
			if _, err := ch.agent(ctx, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// run kills at trigger+Moments, then waits until the window is over and
// every killed pod is ready again (or deleted by the rollout). It returns
// the chaos record (its Replacements are filled by the Recorder at the end).
func (ch *chaos) run(ctx context.Context, trigger time.Time, timeout time.Duration) error {
	ch.mu.Lock()
	ch.tr = trace.Chaos{Spec: ch.spec.Spec, Scope: ch.spec.Scope,
		WindowStart: ch.rec.since(trigger), WindowEnd: ch.rec.since(trigger.Add(ch.spec.Window))}
	ch.mu.Unlock()
	for i, at := range ch.spec.Moments {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(trigger.Add(at))):
		}
		if err := ch.kill(ctx, i+1); err != nil {
			return fmt.Errorf("chaos kill %d: %w", i+1, err)
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(trigger.Add(ch.spec.Window))):
	}
	ch.say("chaos: window over, waiting for the killed pods to be ready again")
	deadline := time.Now().Add(timeout)
	pods := ch.c.CS.CoreV1().Pods(ch.c.Target.Namespace)
	for name := range ch.killedPods() {
		for {
			p, err := pods.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && (p.DeletionTimestamp != nil || podReady(p))) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("chaos: pod %s not ready again %v after the window", name, timeout)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}

func (ch *chaos) killedPods() map[string]bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	out := map[string]bool{}
	for k := range ch.killed {
		out[k] = true
	}
	return out
}

// record returns the chaos record so far.
func (ch *chaos) record() *trace.Chaos {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	c := ch.tr
	c.Kills = append([]trace.Kill(nil), ch.tr.Kills...)
	return &c
}

// nodeIndex numbers node names in first-use order.
func (ch *chaos) nodeIndex(node string) int {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for i, n := range ch.nodes {
		if n == node {
			return i
		}
	}
	ch.nodes = append(ch.nodes, node)
	return len(ch.nodes) - 1
}

// victims lists the workload's pods and picks what one kill takes
// (PickVictims).
func (ch *chaos) victims(ctx context.Context) ([]corev1.Pod, error) {
	list, err := ch.c.CS.CoreV1().Pods(ch.c.Target.Namespace).List(ctx, metav1.ListOptions{LabelSelector: ch.sel.String()})
	if err != nil {
		return nil, err
	}
	return PickVictims(list.Items, ch.spec.Scope, ch.spec.Rand), nil
}

// PickVictims picks what one kill takes among pods with the local drill's
// rule (backend.Victims): the candidates are the running pods with a
// running container that are not being deleted, sorted by name; a ready
// one is drawn with rng, and node scope takes every candidate on its node.
// Nil when no pod runs.
func PickVictims(pods []corev1.Pod, scope string, rng *rand.Rand) []corev1.Pod {
	var live []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && len(runningContainers(&p)) > 0 {
			live = append(live, p)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	return backend.Victims(live, func(p corev1.Pod) bool { return podReady(&p) },
		func(p corev1.Pod) string { return p.Spec.NodeName }, scope, rng)
}

// runningContainers returns the IDs of the pod's running containers.
func runningContainers(p *corev1.Pod) []string {
	var ids []string
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil && cs.ContainerID != "" {
			ids = append(ids, cs.ContainerID)
		}
	}
	return ids
}

// kill performs kill number n.
func (ch *chaos) kill(ctx context.Context, n int) error {
	victims, err := ch.victims(ctx)
	if err != nil {
		return err
	}
	if len(victims) == 0 {
		ch.rec.Event(time.Now(), trace.EventChaos, "", fmt.Sprintf("kill %d: no running pod to kill", n))
		return nil
	}
	node := victims[0].Spec.NodeName
	agent, err := ch.agent(ctx, node)
	if err != nil {
		return err
	}
	var ids, names []string
	for i := range victims {
		ids = append(ids, runningContainers(&victims[i])...)
		names = append(names, victims[i].Name)
	}
	before := time.Now()
	stdout, stderr, execErr := ch.c.Exec(ctx, ch.c.Target.Namespace, agent, "agent", append([]string{"/lameduck", "chaos-kill"}, ids...))
	after := time.Now()
	var res []chaoskill.Result
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var r chaoskill.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			res = append(res, r)
		}
	}
	// The kill's time: the agent's clock when it is within the exec's
	// bounds on ours (one clock on a single node; on several, clocks may
	// differ), else the end of the exec.
	at := after
	var killedAny bool
	var notes []string
	for _, r := range res {
		if r.Err != "" {
			notes = append(notes, r.Container[:min(12, len(r.Container))]+": "+r.Err)
			continue
		}
		killedAny = true
		if !r.At.Before(before) && !r.At.After(after) && r.At.Before(at) {
			at = r.At
		}
	}
	if !killedAny {
		return fmt.Errorf("nothing killed in %s (exec in %s: %v; %s %s)", strings.Join(names, " "), agent, execErr,
			strings.Join(notes, "; "), strings.TrimSpace(stderr))
	}
	k := trace.Kill{At: ch.rec.since(at), Scope: ch.spec.Scope, Node: ch.nodeIndex(node)}
	for _, name := range names {
		k.Replicas = append(k.Replicas, ch.rec.Kill(name, at))
	}
	detail := fmt.Sprintf("kill %d: SIGKILL to %d container(s) (%s on node %s, from agent %s)", n, len(ids), ch.spec.Scope, node, agent)
	if len(notes) > 0 {
		detail += "; not killed: " + strings.Join(notes, "; ")
	}
	ch.rec.Event(at, trace.EventChaos, strings.Join(k.Replicas, ","), detail)
	ch.say("chaos: %s", detail)
	ch.mu.Lock()
	ch.tr.Kills = append(ch.tr.Kills, k)
	for _, name := range names {
		ch.killed[name] = true
	}
	ch.mu.Unlock()
	return nil
}

// Exec runs a command in a pod's container and returns its output, as
// kubectl exec does (WebSocket, falling back to SPDY).
func (c *Cluster) Exec(ctx context.Context, ns, pod, container string, cmd []string) (stdout, stderr string, err error) {
	if c.Config == nil {
		return "", "", errors.New("exec: the cluster has no REST config")
	}
	req := c.CS.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.Config, "GET", req.URL().String())
	if err != nil {
		return "", "", err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.Config, "POST", req.URL())
	if err != nil {
		return "", "", err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return "", "", err
	}
	var out, errb bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), err
}
