package kube

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Event is one observed change, in a form that does not depend on the API
// objects it came from: the drill's trace and reports read these.
type Event struct {
	// At is when the change was observed (the watch delivered it), the only
	// clock that is fine-grained: API timestamps have one-second resolution.
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// Pod is the pod's name ("" when unknown, e.g. an endpoint without targetRef).
	Pod string `json:"pod,omitempty"`
	// IP is the pod's address when the change is about an endpoint.
	IP string `json:"ip,omitempty"`
	// Container names the container for exits and probe failures.
	Container string `json:"container,omitempty"`
	// ExitCode and Signal describe a container's termination (137 SIGKILL, 143 SIGTERM).
	ExitCode int32  `json:"exitCode,omitempty"`
	Signal   string `json:"signal,omitempty"`
	// Restarts is the container's restart count, for EventContainerRestarted.
	Restarts int32 `json:"restarts,omitempty"`
	// Grace is the deletion grace period in seconds, for EventPodDeleting.
	Grace *int64 `json:"grace,omitempty"`
	// Detail is the reason or message, for people.
	Detail string `json:"detail,omitempty"`
}

// Event kinds.
const (
	// EndpointSlice changes of one endpoint (matched by pod name, else address).
	EventEndpointAdded       = "endpoint-added"
	EventEndpointReady       = "endpoint-ready"       // conditions.ready became true
	EventEndpointNotReady    = "endpoint-not-ready"   // ready became false (serving may stay true)
	EventEndpointTerminating = "endpoint-terminating" // conditions.terminating became true
	EventEndpointRemoved     = "endpoint-removed"     // gone from the slice
	EventPodCreated          = "pod-created"          // first seen
	EventPodReady            = "pod-ready"            // Ready condition became True
	EventPodUnready          = "pod-unready"          // Ready condition became False
	EventPodDeleting         = "pod-deleting"         // deletionTimestamp set (Grace)
	EventContainerExited     = "container-exited"     // terminated state appeared (ExitCode, Signal)
	EventContainerRestarted  = "container-restarted"  // restart count went up: the kubelet started it again in place (Restarts)
	EventPodGone             = "pod-gone"             // deleted from the API
	EventKilling             = "killing"              // event Killing: kubelet stops a container
	EventFailedPreStopHook   = "failed-prestop-hook"  // event FailedPreStopHook
	EventUnhealthy           = "unhealthy"            // event Unhealthy: a probe failed
	EventOther               = "event"                // another event about a pod (Detail says which)
)

// SignalOfExitCode names the signal that ended a process from its exit code
// as container runtimes report it (128+signal): 137 is SIGKILL, 143 SIGTERM.
// It returns "" for codes that are not 129..159.
func SignalOfExitCode(code int32) string {
	names := map[int32]string{1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM"}
	if code <= 128 || code >= 160 {
		return ""
	}
	if n, ok := names[code-128]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", code-128)
}

// endpointKey identifies an endpoint across slice versions: its pod, else its first address.
func endpointKey(e discoveryv1.Endpoint) (key, pod, ip string) {
	if len(e.Addresses) > 0 {
		ip = e.Addresses[0]
	}
	if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
		return "pod/" + e.TargetRef.Name, e.TargetRef.Name, ip
	}
	return "ip/" + ip, "", ip
}

// truth reads an EndpointConditions field; nil means true for ready and
// serving (the API's convention) and false for terminating.
func truth(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// EndpointSliceEvents compares two versions of an EndpointSlice (old nil when
// the slice is new, cur nil when it was deleted) and returns one event per
// endpoint change, in the order of the endpoints' keys.
func EndpointSliceEvents(at time.Time, old, cur *discoveryv1.EndpointSlice) []Event {
	before := map[string]discoveryv1.Endpoint{}
	after := map[string]discoveryv1.Endpoint{}
	if old != nil {
		for _, e := range old.Endpoints {
			k, _, _ := endpointKey(e)
			before[k] = e
		}
	}
	if cur != nil {
		for _, e := range cur.Endpoints {
			k, _, _ := endpointKey(e)
			after[k] = e
		}
	}
	keys := make([]string, 0, len(before)+len(after))
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Event
	for _, k := range keys {
		b, hadB := before[k]
		a, hasA := after[k]
		e := a
		if !hasA {
			e = b
		}
		_, pod, ip := endpointKey(e)
		ev := func(kind, detail string) Event {
			return Event{At: at, Kind: kind, Pod: pod, IP: ip, Detail: detail}
		}
		cond := func(x discoveryv1.Endpoint) string {
			return fmt.Sprintf("ready=%t serving=%t terminating=%t",
				truth(x.Conditions.Ready, true), truth(x.Conditions.Serving, true), truth(x.Conditions.Terminating, false))
		}
		switch {
		case !hadB:
			out = append(out, ev(EventEndpointAdded, cond(a)))
			if truth(a.Conditions.Ready, true) {
				out = append(out, ev(EventEndpointReady, cond(a)))
			}
		case !hasA:
			out = append(out, ev(EventEndpointRemoved, cond(b)))
		default:
			if !truth(b.Conditions.Terminating, false) && truth(a.Conditions.Terminating, false) {
				out = append(out, ev(EventEndpointTerminating, cond(a)))
			}
			br, ar := truth(b.Conditions.Ready, true), truth(a.Conditions.Ready, true)
			if br && !ar {
				out = append(out, ev(EventEndpointNotReady, cond(a)))
			}
			if !br && ar {
				out = append(out, ev(EventEndpointReady, cond(a)))
			}
		}
	}
	return out
}

// podReady reads the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// terminated returns the container statuses' terminated states by container name.
func terminated(p *corev1.Pod) map[string]*corev1.ContainerStateTerminated {
	m := map[string]*corev1.ContainerStateTerminated{}
	if p == nil {
		return m
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Terminated != nil {
			m[cs.Name] = cs.State.Terminated
		}
	}
	return m
}

// PodEvents compares two versions of a pod (old nil when first seen, cur nil
// when deleted from the API) and returns what changed: created, ready or
// unready, deletion requested (with its grace period), a container's exit
// (code, signal and reason), gone.
func PodEvents(at time.Time, old, cur *corev1.Pod) (out []Event) {
	if cur == nil {
		if old == nil {
			return nil
		}
		return []Event{{At: at, Kind: EventPodGone, Pod: old.Name}}
	}
	ev := Event{At: at, Pod: cur.Name}
	if old == nil {
		e := ev
		e.Kind = EventPodCreated
		out = append(out, e)
	}
	wasReady := old != nil && podReady(old)
	if r := podReady(cur); r != wasReady && (old != nil || r) {
		e := ev
		e.Kind = EventPodUnready
		if r {
			e.Kind = EventPodReady
		}
		out = append(out, e)
	}
	if cur.DeletionTimestamp != nil && (old == nil || old.DeletionTimestamp == nil) {
		e := ev
		e.Kind = EventPodDeleting
		if cur.DeletionGracePeriodSeconds != nil {
			g := *cur.DeletionGracePeriodSeconds
			e.Grace = &g
		}
		e.Detail = "deletionTimestamp " + cur.DeletionTimestamp.UTC().Format(time.RFC3339)
		out = append(out, e)
	}
	before := terminated(old)
	names := make([]string, 0)
	after := terminated(cur)
	// An exit the watch did not see as the state shows later only as
	// lastState (the container was restarted, or is waiting to be):
	// report it once, when it first appears. A rise of the restart count
	// is a restart in place.
	var restarts []Event
	oldCount := map[string]int32{}
	oldLast := map[string]string{} // the exit old already showed as lastState
	if old != nil {
		for _, cs := range old.Status.ContainerStatuses {
			oldCount[cs.Name] = cs.RestartCount
			if t := cs.LastTerminationState.Terminated; t != nil {
				oldLast[cs.Name] = t.ContainerID
			}
		}
	}
	for _, cs := range cur.Status.ContainerStatuses {
		n, known := oldCount[cs.Name]
		if t := cs.LastTerminationState.Terminated; t != nil && known && oldLast[cs.Name] != t.ContainerID {
			_, shown := after[cs.Name]
			if b, ok := before[cs.Name]; !shown && (!ok || b.ContainerID != t.ContainerID) {
				after[cs.Name] = t
			}
		}
		if !known || cs.RestartCount <= n {
			continue
		}
		e := ev
		e.Kind, e.Container, e.Restarts = EventContainerRestarted, cs.Name, cs.RestartCount
		if t := cs.LastTerminationState.Terminated; t != nil {
			e.Detail = fmt.Sprintf("after exit code %d (%s)", t.ExitCode, t.Reason)
		}
		restarts = append(restarts, e)
	}
	defer func() { out = append(out, restarts...) }()
	for n := range after {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := after[n]
		if b, ok := before[n]; ok && b.ContainerID == t.ContainerID && b.FinishedAt.Equal(&t.FinishedAt) {
			continue
		}
		e := ev
		e.Kind = EventContainerExited
		e.Container = n
		e.ExitCode = t.ExitCode
		e.Signal = SignalOfExitCode(t.ExitCode)
		e.Detail = t.Reason
		if t.Message != "" {
			e.Detail += ": " + t.Message
		}
		out = append(out, e)
	}
	return out
}

// EventFromCore turns a core/v1 Event about a pod into an Event: Killing,
// FailedPreStopHook and Unhealthy get their own kinds, any other reason is
// EventOther. ok is false for events about other objects.
func EventFromCore(at time.Time, e *corev1.Event) (ev Event, ok bool) {
	if e.InvolvedObject.Kind != "Pod" {
		return Event{}, false
	}
	ev = Event{At: at, Pod: e.InvolvedObject.Name, Detail: e.Reason + ": " + e.Message}
	if fp := e.InvolvedObject.FieldPath; fp != "" {
		// spec.containers{NAME}
		if i, j := strings.IndexByte(fp, '{'), strings.IndexByte(fp, '}'); i >= 0 && j > i {
			ev.Container = fp[i+1 : j]
		}
	}
	switch e.Reason {
	case "Killing":
		ev.Kind = EventKilling
	case "FailedPreStopHook":
		ev.Kind = EventFailedPreStopHook
	case "Unhealthy":
		ev.Kind = EventUnhealthy
	default:
		ev.Kind = EventOther
	}
	return ev, true
}
