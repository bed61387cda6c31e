package kube

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// TestEndpointSliceEventsOnARecordedDeletion replays the EndpointSlice watch
// recorded while one pod of the naive demo was deleted: the endpoint turns
// terminating and not ready, is removed, and a new one is added, first not
// ready then ready.
func TestEndpointSliceEventsOnARecordedDeletion(t *testing.T) {
	evs := readWatch[discoveryv1.EndpointSlice](t, "testdata/endpointslice-watch-naive-delete.json")
	var got []string
	var last *discoveryv1.EndpointSlice
	for i, ev := range evs {
		cur := ev.Object
		for _, e := range EndpointSliceEvents(at(i), last, &cur) {
			got = append(got, fmt.Sprintf("%d %s %s", i, e.Kind, e.IP))
			if e.Pod == "" {
				t.Errorf("event %+v: no pod name (the slice has targetRefs)", e)
			}
		}
		last = &cur
	}
	want := []string{
		"0 endpoint-added 10.244.0.5", "0 endpoint-ready 10.244.0.5",
		"0 endpoint-added 10.244.0.7", "0 endpoint-ready 10.244.0.7",
		"0 endpoint-added 10.244.0.9", "0 endpoint-ready 10.244.0.9",
		"1 endpoint-terminating 10.244.0.5", "1 endpoint-not-ready 10.244.0.5",
		"2 endpoint-removed 10.244.0.5",
		"3 endpoint-added 10.244.0.10",
		"4 endpoint-ready 10.244.0.10",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if evs := EndpointSliceEvents(at(9), last, nil); len(evs) != 3 || evs[0].Kind != EventEndpointRemoved {
		t.Fatalf("slice deleted: %+v, want 3 endpoint-removed", evs)
	}
}

func TestSignalOfExitCode(t *testing.T) {
	for code, want := range map[int32]string{137: "SIGKILL", 143: "SIGTERM", 130: "SIGINT", 0: "", 1: "", 2: "", 128: "", 140: "signal 12", 160: ""} {
		if got := SignalOfExitCode(code); got != want {
			t.Errorf("SignalOfExitCode(%d) = %q, want %q", code, got, want)
		}
	}
}

// TestPodEventsOnARecordedDeletion replays the pod watch recorded while one
// pod of the naive demo was deleted (grace period 30 s). The naive service
// has no SIGTERM handler and runs as PID 1, where the kernel ignores a
// signal's default action: Go's runtime then exits with status 2, not 143.
func TestPodEventsOnARecordedDeletion(t *testing.T) {
	evs := readWatch[corev1.Pod](t, "testdata/pod-watch-naive-delete.json")
	last := map[string]*corev1.Pod{}
	var got []string
	for i, ev := range evs {
		p := ev.Object
		cur := &p
		if ev.Type == "DELETED" {
			cur = nil
		}
		for _, e := range PodEvents(at(i), last[p.Name], cur) {
			s := fmt.Sprintf("%s %s", e.Kind, p.Name[len(p.Name)-5:])
			if e.Grace != nil {
				s += fmt.Sprintf(" grace=%d", *e.Grace)
			}
			if e.Kind == EventContainerExited {
				s += fmt.Sprintf(" %s code=%d signal=%q %s", e.Container, e.ExitCode, e.Signal, e.Detail)
			}
			got = append(got, s)
		}
		last[p.Name] = cur
	}
	want := []string{
		"pod-created 8xwz7", "pod-ready 8xwz7",
		"pod-created b84m7", "pod-ready b84m7",
		"pod-created cjnqh", "pod-ready cjnqh",
		"pod-deleting 8xwz7 grace=30",
		"pod-created pgnhz",
		"pod-unready 8xwz7", `container-exited 8xwz7 counter code=2 signal="" Error`,
		"pod-ready pgnhz",
		"pod-gone 8xwz7",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// replayPods runs PodEvents over a recorded pod watch and returns the events.
func replayPods(t *testing.T, path string) []Event {
	t.Helper()
	last := map[string]*corev1.Pod{}
	var out []Event
	for i, ev := range readWatch[corev1.Pod](t, path) {
		p := ev.Object
		cur := &p
		if ev.Type == "DELETED" {
			cur = nil
		}
		out = append(out, PodEvents(at(i), last[p.Name], cur)...)
		last[p.Name] = cur
	}
	return out
}

// replayEvents runs EventFromCore over a recorded event watch.
func replayEvents(t *testing.T, path string) []Event {
	t.Helper()
	var out []Event
	for i, ev := range readWatch[corev1.Event](t, path) {
		if e, ok := EventFromCore(at(i), &ev.Object); ok {
			out = append(out, e)
		}
	}
	return out
}

// TestRecordedSIGKILL: the lameduck demo with a 20 s drain delay in a pod
// whose grace period is 2 s; the kubelet kills it: exit code 137, SIGKILL.
func TestRecordedSIGKILL(t *testing.T) {
	var exit *Event
	evs := replayPods(t, "testdata/pod-watch-sigkill.json")
	for i := range evs {
		if evs[i].Kind == EventContainerExited {
			exit = &evs[i]
		}
		if evs[i].Kind == EventPodDeleting && (evs[i].Grace == nil || *evs[i].Grace != 2) {
			t.Errorf("deleting event %+v: want grace 2", evs[i])
		}
	}
	if exit == nil || exit.ExitCode != 137 || exit.Signal != "SIGKILL" || exit.Container != "app" || exit.Detail != "Error" {
		t.Fatalf("exit %+v, want app 137 SIGKILL Error", exit)
	}
	kinds := kindsOf(replayEvents(t, "testdata/event-watch-sigkill.json"))
	if !strings.Contains(kinds, EventKilling) {
		t.Errorf("events %s: want a Killing event", kinds)
	}
}

// TestRecordedFailedPreStopHook: a preStop exec of a missing binary.
func TestRecordedFailedPreStopHook(t *testing.T) {
	evs := replayEvents(t, "testdata/event-watch-prestop-fail.json")
	var hook *Event
	for i := range evs {
		if evs[i].Kind == EventFailedPreStopHook {
			hook = &evs[i]
		}
	}
	if hook == nil || hook.Pod != "prestop-fail" || hook.Container != "app" {
		t.Fatalf("events %s: want failed-prestop-hook for prestop-fail/app (got %+v)", kindsOf(evs), hook)
	}
	if k := kindsOf(evs); !strings.Contains(k, EventKilling+" "+EventFailedPreStopHook) {
		t.Errorf("events %s: want killing then failed-prestop-hook", k)
	}
}

// TestRecordedRolloutEvents: the lameduck demo's rollout: every old pod is
// killed, fails readiness with 503 while it drains, and its endpoint turns
// terminating and not ready before it is removed.
func TestRecordedRolloutEvents(t *testing.T) {
	evs := replayEvents(t, "testdata/rollout-lameduck/events.json")
	killed, unhealthy503 := map[string]bool{}, map[string]bool{}
	for _, e := range evs {
		switch {
		case e.Kind == EventKilling:
			killed[e.Pod] = true
		case e.Kind == EventUnhealthy && strings.Contains(e.Detail, "statuscode: 503"):
			unhealthy503[e.Pod] = true
		}
	}
	if len(killed) != 3 || len(unhealthy503) != 3 {
		t.Fatalf("killed %v, unhealthy with 503 %v: want the 3 old pods in each", killed, unhealthy503)
	}
	var seq []string
	var last *discoveryv1.EndpointSlice
	for i, ev := range readWatch[discoveryv1.EndpointSlice](t, "testdata/rollout-lameduck/endpointslices.json") {
		cur := ev.Object
		for _, e := range EndpointSliceEvents(at(i), last, &cur) {
			if killed[e.Pod] && i > 0 {
				seq = append(seq, e.Pod[len(e.Pod)-5:]+" "+e.Kind)
			}
		}
		last = &cur
	}
	for p := range killed {
		s := strings.Join(seq, ",")
		id := p[len(p)-5:]
		if !strings.Contains(s, id+" "+EventEndpointTerminating+","+id+" "+EventEndpointNotReady) || !strings.Contains(s, id+" "+EventEndpointRemoved) {
			t.Errorf("endpoint events of %s: %s; want terminating, not-ready, then removed", id, s)
		}
	}
}

func kindsOf(evs []Event) string {
	var k []string
	for _, e := range evs {
		k = append(k, e.Kind)
	}
	return strings.Join(k, " ")
}
