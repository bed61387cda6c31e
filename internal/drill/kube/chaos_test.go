package kube

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/kube/podload"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// TestRecordedChaosKill replays a pod watch recorded on the cluster of
// scripts/kube while `lameduck chaos-kill` SIGKILLed the pod's container
// from an agent pod (testdata/pod-watch-chaos-kill.json): the kubelet
// reports exit 137 without a deletion, then restarts the container in
// place. The Recorder must turn that into two replicas, POD (killed at the
// kill's time, unexpected, SIGKILL) and POD#1 (same revision, ready later).
func TestRecordedChaosKill(t *testing.T) {
	evs := replayPods(t, "testdata/pod-watch-chaos-kill.json")
	if got, want := kindsOf(evs), "pod-created pod-ready pod-unready container-exited container-restarted pod-ready"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	exit := evs[3]
	if exit.ExitCode != 137 || exit.Signal != "SIGKILL" {
		t.Fatalf("exit %+v: want 137 SIGKILL", exit)
	}
	if evs[4].Restarts != 1 || !strings.Contains(evs[4].Detail, "137") {
		t.Fatalf("restart %+v", evs[4])
	}
	pod := evs[0].Pod
	rec := NewRecorder(at(0))
	killAt := at(0).Add(500 * time.Millisecond) // between ready and the kubelet's report
	for i, e := range evs {
		if i == 2 {
			if got := rec.Kill(pod, killAt); got != pod {
				t.Fatalf("Kill returned %q, want %q", got, pod)
			}
		}
		rec.Add(e)
	}
	var tr trace.Trace
	rec.Fill(&tr)
	if len(tr.Replicas) != 2 {
		t.Fatalf("replicas %+v: want the pod and its restarted instance", tr.Replicas)
	}
	killed, next := tr.Replicas[0], tr.Replicas[1]
	if killed.Name != pod || killed.Exited != killAt.Sub(at(0)) || killed.ExitSignal != "SIGKILL" || !killed.Unexpected || killed.Terminating != 0 {
		t.Fatalf("killed instance %+v", killed)
	}
	if next.Name != pod+"#1" || next.Revision != killed.Revision || next.Started != 2*time.Second || next.Ready != 3*time.Second || next.Exited != 0 {
		t.Fatalf("restarted instance %+v", next)
	}
	if rec.Next(pod) != pod+"#1" || rec.Next(pod+"#1") != "" || rec.Current(pod) != pod+"#1" {
		t.Fatalf("Next %q, Current %q", rec.Next(pod), rec.Current(pod))
	}
	var confirmed bool
	for _, e := range tr.Events {
		if e.Kind == trace.EventExited && e.Replica == pod && strings.Contains(e.Detail, "137") && strings.Contains(e.Detail, "already recorded") {
			confirmed = true
		}
		if e.Kind == trace.EventReady && e.At == 3*time.Second && e.Replica != pod+"#1" {
			t.Errorf("the readiness after the restart is %q's, want the new instance's", e.Replica)
		}
	}
	if !confirmed {
		t.Errorf("the kubelet's exit 137 is not in the events: %+v", tr.Events)
	}
	if got := rec.Pods(); !slices.Equal(got, []string{pod}) {
		t.Errorf("Pods %v: want the pod name once", got)
	}
}

func runningPod(name, node string, ready bool) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", ContainerID: "containerd://" + strings.Repeat("a", 64),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
	}
}

func names(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// TestPickVictims: a kill takes a ready pod not being deleted; node scope
// takes every live pod on its node; the same seed picks the same pod.
func TestPickVictims(t *testing.T) {
	deleting := runningPod("d", "n1", true)
	deleting.DeletionTimestamp = &metav1.Time{Time: at(0)}
	pending := runningPod("p", "n1", false)
	pending.Status.Phase = corev1.PodPending
	restarting := runningPod("r", "n1", false)
	restarting.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	pods := []corev1.Pod{runningPod("b", "n2", true), deleting, pending, restarting, runningPod("a", "n1", true), runningPod("u", "n1", false)}

	seen := map[string]int{}
	for seed := range uint64(200) {
		v := PickVictims(pods, trace.ChaosReplica, rand.New(rand.NewPCG(seed, 1)))
		if len(v) != 1 {
			t.Fatalf("seed %d: %v", seed, names(v))
		}
		seen[v[0].Name]++
		again := PickVictims(slices.Clone(pods), trace.ChaosReplica, rand.New(rand.NewPCG(seed, 1)))
		if again[0].Name != v[0].Name {
			t.Fatalf("seed %d picked %s, then %s", seed, v[0].Name, again[0].Name)
		}
	}
	if len(seen) != 2 || seen["a"] == 0 || seen["b"] == 0 {
		t.Fatalf("picks %v: want only the ready, not deleted pods a and b", seen)
	}
	for seed := range uint64(50) {
		v := names(PickVictims(pods, trace.ChaosNode, rand.New(rand.NewPCG(seed, 1))))
		if !slices.Equal(v, []string{"a", "u"}) && !slices.Equal(v, []string{"b"}) {
			t.Fatalf("node scope took %v: want every live pod of one node (a u, or b)", v)
		}
	}
	// No ready pod: a live one; none live: nothing.
	if v := PickVictims([]corev1.Pod{runningPod("u", "n1", false)}, trace.ChaosReplica, rand.New(rand.NewPCG(1, 1))); len(v) != 1 {
		t.Fatalf("no ready pod: %v", names(v))
	}
	if v := PickVictims([]corev1.Pod{deleting, pending, restarting}, trace.ChaosReplica, rand.New(rand.NewPCG(1, 1))); v != nil {
		t.Fatalf("nothing running: %v", names(v))
	}
}

// TestAgentPod: the agent has what a SIGKILL from outside the victim's
// PID namespace needs (hostPID, root, CAP_KILL) and nothing else: no
// privileged mode, no other capability, no service account token, no
// restarts; it runs on the given node whatever its taints.
func TestAgentPod(t *testing.T) {
	p := AgentPod("ns", "node-7", "img:1", "kd1", 2, true, 3*time.Minute)
	c := p.Spec.Containers[0]
	sc := c.SecurityContext
	if p.Name != "lameduck-chaos-kd1-2" || p.Namespace != "ns" || p.Labels[ChaosPodLabel] != "kd1" ||
		p.Spec.NodeName != "node-7" || !p.Spec.HostPID || p.Spec.HostNetwork || p.Spec.RestartPolicy != corev1.RestartPolicyNever ||
		p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken ||
		len(p.Spec.Tolerations) != 1 || p.Spec.Tolerations[0].Operator != corev1.TolerationOpExists {
		t.Fatalf("pod %+v", p)
	}
	if c.Image != "img:1" || c.ImagePullPolicy != corev1.PullNever || !slices.Equal(c.Args, []string{"chaos-agent", "--deadline", "3m0s"}) {
		t.Fatalf("container %+v", c)
	}
	if sc == nil || sc.Privileged != nil || sc.RunAsUser == nil || *sc.RunAsUser != 0 || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"KILL"}) {
		t.Fatalf("security context %+v", sc)
	}
}

// TestConnectionsTiedToContainerInstance: a connection belongs to the
// container instance that gave its first answer; the analysis then blames
// the kill for what was lost on the killed instance, and nothing on the
// restarted one.
func TestConnectionsTiedToContainerInstance(t *testing.T) {
	t0 := at(0)
	rec := NewRecorder(t0)
	pod := "web-1"
	rec.Add(Event{At: t0, Kind: EventPodCreated, Pod: pod})
	rec.Add(Event{At: t0, Kind: EventPodReady, Pod: pod})
	killAt := t0.Add(3 * time.Second)
	if got := rec.Kill(pod, killAt); got != pod {
		t.Fatalf("Kill: %q", got)
	}
	rec.Add(Event{At: t0.Add(3500 * time.Millisecond), Kind: EventContainerExited, Pod: pod, Container: "c", ExitCode: 137, Signal: "SIGKILL"})
	rec.Add(Event{At: t0.Add(4 * time.Second), Kind: EventContainerRestarted, Pod: pod, Container: "c", Restarts: 1})
	rec.Add(Event{At: t0.Add(5 * time.Second), Kind: EventPodReady, Pod: pod})

	var recs []podload.Record
	add := func(start time.Duration, conn uint64, code int, class string) {
		recs = append(recs, podload.Record{Seq: uint64(len(recs) + 1), ID: "kd-" + string(rune('a'+len(recs))), Start: t0.Add(start),
			Latency: time.Millisecond, Code: code, Class: class, Conn: conn, Local: "10.0.0.1:" + string(rune('0'+conn)), Pod: map[bool]string{true: pod}[code == 200]})
	}
	add(1*time.Second, 1, 200, "")
	add(2*time.Second, 1, 200, "") // acknowledged, then lost at the kill
	add(3*time.Second, 1, 0, trace.TransportReset)
	add(6*time.Second, 2, 200, "")
	add(7*time.Second, 2, 200, "")
	tr := &trace.Trace{Schema: trace.SchemaVersion, Epoch: t0, Name: "chaos", Backend: "kube", LoadStop: 8 * time.Second, End: 9 * time.Second,
		Rollouts: []trace.Rollout{{Started: 8 * time.Second, Completed: 8 * time.Second}}}
	tr.Requests = rec.Requests(recs)
	tr.Conns = rec.Connections(recs)
	if len(tr.Conns) != 2 || tr.Conns[0].Replica != pod || tr.Conns[1].Replica != pod+"#1" {
		t.Fatalf("connections %+v: want the first on %s, the second on %s#1", tr.Conns, pod, pod)
	}
	committed := map[string]int64{recs[0].ID: 1, recs[3].ID: 1, recs[4].ID: 1}
	tr.Ledger = &trace.Ledger{Source: "test", Committed: committed, Reads: 2, Stable: time.Second}
	rec.Fill(tr)
	tr.Chaos = &trace.Chaos{Spec: "1 replica kills over 5s", Scope: trace.ChaosReplica, WindowStart: 0, WindowEnd: 5 * time.Second,
		Kills: []trace.Kill{{At: 3 * time.Second, Scope: trace.ChaosReplica, Replicas: []string{pod}, Replacements: []string{rec.Next(pod)}}}}
	res := analysis.Analyze(tr)
	if res.Chaos == nil || len(res.Chaos.Kills) != 1 {
		t.Fatalf("chaos report %+v", res.Chaos)
	}
	k := res.Chaos.Kills[0]
	if k.Lost != 1 || k.Failed != 1 || k.Replacements[0] != pod+"#1" {
		t.Fatalf("kill report %+v: want 1 lost, 1 failed, replaced by %s#1", k, pod)
	}
	if res.Ledger == nil || res.Ledger.Lost != 1 || res.Ledger.Examples[0].Cause != analysis.CauseLostOnKill {
		t.Fatalf("ledger %+v: want the write lost at the SIGKILL", res.Ledger)
	}
}

// TestDeletionOfAKilledPod: the rollout deleted a pod just after --chaos
// killed it; the watch may deliver the deletion before or after the drill
// records the kill. Either way the instance ended by the kill (unexpected,
// SIGKILL, not deleted, no stop signal), and the rollout's delete step is
// kept.
func TestDeletionOfAKilledPod(t *testing.T) {
	for _, deletionFirst := range []bool{true, false} {
		t0 := at(0)
		rec := NewRecorder(t0)
		rec.SignalAtDeletion, rec.StopSignal = true, "SIGTERM"
		rec.Add(Event{At: t0, Kind: EventPodCreated, Pod: "old"})
		rec.NewRevision()
		del := Event{At: t0.Add(3100 * time.Millisecond), Kind: EventPodDeleting, Pod: "old"}
		if deletionFirst {
			rec.Add(del)
		}
		rec.Kill("old", t0.Add(3*time.Second))
		if !deletionFirst {
			rec.Add(del)
		}
		var tr trace.Trace
		rec.Fill(&tr)
		rp := tr.Replicas[0]
		if rp.Exited != 3*time.Second || !rp.Unexpected || rp.Terminating != 0 || rp.SignalSent != 0 || rp.ExitSignal != "SIGKILL" {
			t.Errorf("deletion first %t: lifecycle %+v", deletionFirst, rp)
		}
		if len(tr.Steps) != 1 || tr.Steps[0].Action != trace.StepDelete || tr.Steps[0].Replica != "old" {
			t.Errorf("deletion first %t: steps %+v", deletionFirst, tr.Steps)
		}
	}
}

// TestRestartAfterTheDeletion: recorded on the cluster (crashsafe demo,
// node kill, seed 2): the kubelet restarted a killed container although
// the rollout had deleted the pod meanwhile, then stopped that instance
// (preStop drain, exit 0). The restarted instance is a deleted replica
// that shut down cleanly, not a crash.
func TestRestartAfterTheDeletion(t *testing.T) {
	t0 := at(0)
	rec := NewRecorder(t0)
	rec.Add(Event{At: t0, Kind: EventPodCreated, Pod: "p"})
	rec.NewRevision()
	rec.Kill("p", t0.Add(6520*time.Millisecond))
	rec.Add(Event{At: t0.Add(7550 * time.Millisecond), Kind: EventContainerExited, Pod: "p", Container: "c", ExitCode: 137, Signal: "SIGKILL"})
	rec.Add(Event{At: t0.Add(7600 * time.Millisecond), Kind: EventPodDeleting, Pod: "p"})
	rec.Add(Event{At: t0.Add(8610 * time.Millisecond), Kind: EventContainerRestarted, Pod: "p", Container: "c", Restarts: 1})
	rec.Add(Event{At: t0.Add(11750 * time.Millisecond), Kind: EventContainerExited, Pod: "p", Container: "c", Detail: "Completed"})
	var tr trace.Trace
	rec.Fill(&tr)
	if len(tr.Replicas) != 2 {
		t.Fatalf("replicas %+v", tr.Replicas)
	}
	killed, next := tr.Replicas[0], tr.Replicas[1]
	if !killed.Unexpected || killed.Terminating != 0 || killed.Exited != 6520*time.Millisecond {
		t.Errorf("killed instance %+v", killed)
	}
	if next.Name != "p#1" || next.Unexpected || next.Terminating != 8610*time.Millisecond || next.Exited != 11750*time.Millisecond || next.ExitCode != 0 {
		t.Errorf("restarted instance %+v: want terminating from its start, a clean exit, not unexpected", next)
	}
	res := analysis.Analyze(&trace.Trace{Schema: trace.SchemaVersion, Epoch: t0, Backend: "kube", Replicas: tr.Replicas, Events: tr.Events, Steps: tr.Steps,
		LoadStop: 12 * time.Second, End: 13 * time.Second, Rollouts: []trace.Rollout{{Started: time.Second, Completed: 12 * time.Second}},
		Chaos: &trace.Chaos{Scope: trace.ChaosReplica, WindowEnd: 10 * time.Second, Kills: []trace.Kill{{At: 6520 * time.Millisecond, Replicas: []string{"p"}, Replacements: []string{"p#1"}}}}})
	for _, c := range res.Causes {
		if c.Key == analysis.CauseCrashed {
			t.Errorf("causes %+v: the restarted instance is not a crash", res.Causes)
		}
	}
}

// TestOneExitPerKilledContainer: whichever versions of a killed pod the
// watch delivers (the terminated state, a waiting one with the exit as
// lastState, the restarted one), the exit is reported once and the restart
// once.
func TestOneExitPerKilledContainer(t *testing.T) {
	id := "containerd://" + strings.Repeat("1", 64)
	exit := &corev1.ContainerStateTerminated{ContainerID: id, ExitCode: 137, Reason: "Error"}
	version := func(count int32, state corev1.ContainerState, last *corev1.ContainerStateTerminated) *corev1.Pod {
		p := runningPod("p", "n", false)
		cs := &p.Status.ContainerStatuses[0]
		cs.RestartCount, cs.State = count, state
		cs.LastTerminationState = corev1.ContainerState{Terminated: last}
		return &p
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	for name, seq := range map[string][]*corev1.Pod{
		"terminated, waiting, running": {version(0, running, nil), version(0, corev1.ContainerState{Terminated: exit}, nil), version(0, waiting, exit), version(1, running, exit)},
		"waiting, running":             {version(0, running, nil), version(0, waiting, exit), version(1, running, exit)},
		"running again at once":        {version(0, running, nil), version(1, running, exit)},
	} {
		var got []string
		for i := 1; i < len(seq); i++ {
			for _, e := range PodEvents(at(i), seq[i-1], seq[i]) {
				if e.Kind == EventContainerExited || e.Kind == EventContainerRestarted {
					got = append(got, e.Kind)
				}
			}
		}
		if want := []string{EventContainerExited, EventContainerRestarted}; !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}
