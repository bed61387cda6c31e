package kube

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lameduck-dev/lameduck/internal/drill/kube/podload"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Recorder merges what a drill on a real cluster observes (watched pod,
// EndpointSlice and event changes, the in-cluster load's records) into the
// same trace.Trace the local backend produces, so that the analysis and the
// reports work unchanged. All times are measured from Epoch by the drill's
// clock (the watch delivery time; the load pod's wall clock for requests,
// which on a single-node cluster is this machine's clock).
//
// What a real cluster does not show is left zero, never guessed. The client
// sees only the Service's ClusterIP (kube-proxy's DNAT is not observable), so
// connections are known from the client's side only (Connections): a
// connection is tied to the pod its answers named (the X-Lameduck-Pod
// header, optional), and a connection that failed before any answer is tied
// to none. The
// balancer views are the EndpointSlice as the API server published it
// (Changed = Applied = when the watch delivered it; kube-proxy's own lag is
// measured separately, docs/fidelity.md), and the stop signal's time is not
// reported by the kubelet (Killing, the start of the container's
// termination, is recorded as an event).
//
// Add may be called from several goroutines.
type Recorder struct {
	Epoch time.Time
	// SignalAtDeletion: the pods have no preStop hook, so the kubelet sends
	// the stop signal (StopSignal) when the deletion reaches it: the
	// deletion's time is then recorded as the signal's too.
	SignalAtDeletion bool
	StopSignal       string

	mu       sync.Mutex
	replicas map[string]*trace.Replica
	order    []string
	events   []trace.Event
	views    []trace.View
	steps    []trace.Step
	ep       map[string]trace.View // last endpoint state by pod (or address)
	revision int                   // revision given to pods first seen from now on
}

// NewRecorder returns a recorder whose time zero is epoch. Pods first seen
// before NewRevision is called are revision 0 (the old template).
func NewRecorder(epoch time.Time) *Recorder {
	return &Recorder{Epoch: epoch, replicas: map[string]*trace.Replica{}, ep: map[string]trace.View{}}
}

// NewRevision marks the trigger of a rollout: pods first seen from now on
// belong to the next revision.
func (r *Recorder) NewRevision() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revision++
}

// Event records a trace event of the drill itself (rollout start, load
// start, …) at time at.
func (r *Recorder) Event(at time.Time, kind, replica, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, trace.Event{At: r.since(at), Replica: replica, Kind: kind, Detail: detail})
}

func (r *Recorder) since(t time.Time) time.Duration {
	if t.Before(r.Epoch) {
		return 0
	}
	return t.Sub(r.Epoch)
}

// replica returns the pod's lifecycle, creating it (first seen now) when new.
func (r *Recorder) replica(name string, at time.Duration) *trace.Replica {
	rp := r.replicas[name]
	if rp == nil {
		rp = &trace.Replica{Name: name, Revision: r.revision, Started: at, ProbeKind: "kubelet"}
		r.replicas[name] = rp
		r.order = append(r.order, name)
		r.events = append(r.events, trace.Event{At: at, Replica: name, Kind: trace.EventStarted, Detail: "pod first seen"})
		if r.revision > 0 {
			r.step(at, trace.StepCreate, name)
		}
	}
	return rp
}

// step records a controller action as the drill observed it.
func (r *Recorder) step(at time.Duration, action, pod string) {
	r.steps = append(r.steps, trace.Step{At: at, Rollout: r.revision - 1, Index: len(r.steps), Action: action, Replica: pod})
}

// Add records one observed change.
func (r *Recorder) Add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := r.since(e.At)
	ev := trace.Event{At: at, Replica: e.Pod, Detail: e.Detail}
	switch e.Kind {
	case EventPodCreated:
		r.replica(e.Pod, at)
		return
	case EventPodReady:
		rp := r.replica(e.Pod, at)
		if rp.Ready == 0 {
			rp.Ready = at
		}
		ev.Kind = trace.EventReady
	case EventPodUnready:
		r.replica(e.Pod, at)
		ev.Kind = trace.EventUnready
	case EventPodDeleting:
		rp := r.replica(e.Pod, at)
		if rp.Terminating == 0 {
			rp.Terminating = at
			if r.revision > 0 {
				r.step(at, trace.StepDelete, e.Pod)
			}
			if r.SignalAtDeletion {
				rp.SignalSent, rp.Signal = at, r.StopSignal
			}
		}
		ev.Kind = trace.EventTerminating
		if e.Grace != nil {
			ev.Detail = fmt.Sprintf("deletion, grace period %ds (%s)", *e.Grace, e.Detail)
		}
	case EventContainerExited:
		rp := r.replica(e.Pod, at)
		if rp.Exited != 0 {
			return // one exit per pod: the first container's
		}
		rp.Exited = at
		rp.ExitCode = int(e.ExitCode)
		if e.Signal != "" {
			// As the local backend writes a process killed by a signal.
			rp.ExitCode, rp.ExitSignal = -1, e.Signal
		}
		if e.Signal == "SIGKILL" && rp.Terminating > 0 {
			rp.Killed = at
			rp.Signal = "SIGKILL"
			r.events = append(r.events, trace.Event{At: at, Replica: e.Pod, Kind: trace.EventSIGKILL, Detail: "exit code 137"})
		}
		rp.Unexpected = rp.Terminating == 0
		ev.Kind = trace.EventExited
		ev.Detail = fmt.Sprintf("container %s: exit code %d %s %s", e.Container, e.ExitCode, e.Signal, e.Detail)
		ev.Detail = strings.Join(strings.Fields(ev.Detail), " ")
	case EventEndpointAdded, EventEndpointReady, EventEndpointNotReady, EventEndpointTerminating, EventEndpointRemoved:
		r.endpoint(e, at)
		ev.Kind = "kube-" + e.Kind
	case EventKilling, EventFailedPreStopHook, EventUnhealthy, EventOther, EventPodGone:
		ev.Kind = "kube-" + e.Kind
	default:
		ev.Kind = "kube-" + e.Kind
	}
	r.events = append(r.events, ev)
}

// endpoint records an EndpointSlice change as a balancer view of node 0
// (the API server's; kube-proxy applies it later, unobserved here).
func (r *Recorder) endpoint(e Event, at time.Duration) {
	key := e.Pod
	if key == "" {
		key = e.IP
	}
	v := r.ep[key]
	v.Replica, v.Addr = key, e.IP
	var ready, serving, terminating bool
	if _, err := fmt.Sscanf(e.Detail, "ready=%t serving=%t terminating=%t", &ready, &serving, &terminating); err == nil {
		v.Ready, v.Serving, v.Terminating = ready, serving, terminating
	}
	switch e.Kind {
	case EventEndpointAdded:
		// The conditions come with it; ready is announced separately.
		v.Removed = false
		if ready {
			return // EventEndpointReady follows with the same conditions
		}
	case EventEndpointRemoved:
		v.Removed, v.Ready, v.Serving = true, false, false
	}
	v.Changed, v.Applied = at, at
	r.ep[key] = v
	r.views = append(r.views, v)
}

// Requests converts the load's records into trace requests. A request the
// load retried (lameduck load --retry) gets its earlier attempts as
// Retried, with their client-side local address: the analysis ties an
// attempt to the connection, and so to the pod, by it, as it does requests.
func (r *Recorder) Requests(recs []podload.Record) []trace.Request {
	out := make([]trace.Request, 0, len(recs))
	for _, q := range recs {
		start := r.since(q.Start)
		tq := trace.Request{Seq: q.Seq, ID: q.ID, Start: start, End: start + q.Latency, Code: q.Code,
			Error: q.Err, Local: q.Local, Reused: q.Reused, DialFail: q.DialFail}
		if tq.End == 0 {
			tq.End = 1 // answered: End 0 would mean unfinished
		}
		tq.Transport = transportOf(q.Class)
		for _, a := range q.Attempts {
			as := r.since(a.Start)
			reason := a.Reason
			if reason == "" {
				reason = "unknown" // as the local drill writes an attempt without one
			}
			tq.Retried = append(tq.Retried, trace.Attempt{Start: as, End: as + a.Latency, Code: a.Code, Error: a.Err,
				Transport: transportOf(a.Class), Local: a.Local, Reason: reason})
		}
		out = append(out, tq)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// transportOf returns the trace's transport class of a load record's class
// ("" for http-5xx and other).
func transportOf(class string) string {
	switch class {
	case trace.TransportRefused, trace.TransportReset, trace.TransportEOF, trace.TransportTimeout:
		return class
	}
	return ""
}

// SetOutput records a pod's log tail as its replica's output (the pod must
// have been seen).
func (r *Recorder) SetOutput(pod, out string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rp := r.replicas[pod]; rp != nil {
		rp.Output = out
	}
}

// Pods returns the names of the pods seen, in first-seen order.
func (r *Recorder) Pods() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order...)
}

// Connections derives the load's connections from its records, as the local
// backend's balancer records them: one per connection the load dialled
// (Record.Conn; the local address for loads that do not number them), tied
// to the pod that any answer on it named (Record.Pod: a keep-alive
// connection stays with the pod kube-proxy chose when it was opened, so a
// failure on it after earlier answers happened on that pod). A connection
// no answer named is left out: its requests stay unattributed. A reset or
// EOF the client saw on it is recorded as the pod's side closing it (reset
// or fin) at that time.
//
// It also records, for a pod that did not shut down cleanly (a non-zero
// exit other than SIGKILL: a Go service without signal handling exits 2 on
// SIGTERM as PID 1, 143 elsewhere), its exit at the first such cut seen on
// its connections after its deletion when that is earlier than the watch
// reported the exit (the kubelet reports it a second or more late): the
// process was gone by then.
func (r *Recorder) Connections(recs []podload.Record) []trace.Conn {
	byKey := map[string]*trace.Conn{}
	var keys []string
	for _, q := range recs {
		key := q.Local
		if q.Conn != 0 {
			key = fmt.Sprint(q.Conn)
		}
		if key == "" {
			continue
		}
		start := r.since(q.Start)
		end := start + q.Latency
		c := byKey[key]
		if c == nil {
			c = &trace.Conn{ID: q.Conn, Client: q.Local, Outcome: trace.OutcomeForwarded, Accepted: start}
			byKey[key] = c
			keys = append(keys, key)
		}
		c.Accepted = min(c.Accepted, start)
		c.Ended = max(c.Ended, end)
		if c.Replica == "" && q.Pod != "" {
			c.Replica = q.Pod
		}
		if c.BackendClose == "" && (q.Class == trace.TransportReset || q.Class == trace.TransportEOF) {
			c.BackendClose, c.BackendClosed = trace.CloseFIN, end
			if q.Class == trace.TransportReset {
				c.BackendClose = trace.CloseReset
			}
		}
	}
	out := make([]trace.Conn, 0, len(keys))
	for i, k := range keys {
		c := byKey[k]
		if c.Replica == "" {
			continue
		}
		if c.ID == 0 {
			c.ID = uint64(i + 1)
		}
		out = append(out, *c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Accepted < out[j].Accepted })

	r.mu.Lock()
	defer r.mu.Unlock()
	cut := map[string]trace.Conn{} // earliest cut after the deletion, by pod
	for _, c := range out {
		rp := r.replicas[c.Replica]
		if rp == nil || c.BackendClosed == 0 || rp.Terminating == 0 || c.BackendClosed < rp.Terminating {
			continue
		}
		if k, ok := cut[c.Replica]; !ok || c.BackendClosed < k.BackendClosed {
			cut[c.Replica] = c
		}
	}
	for name, c := range cut {
		rp := r.replicas[name]
		if rp.Exited == 0 || rp.ExitCode == 0 || rp.ExitSignal == "SIGKILL" || c.BackendClosed >= rp.Exited {
			continue
		}
		r.events = append(r.events, trace.Event{At: c.BackendClosed, Replica: name, Kind: "kube-exit-seen-by-load",
			Detail: fmt.Sprintf("connection %d cut (%s) %.1fs before the watch reported the exit: the exit is recorded here", c.ID, c.BackendClose, (rp.Exited - c.BackendClosed).Seconds())})
		rp.Exited = c.BackendClosed
	}
	return out
}

// Fill writes the recorded lifecycles, views and events into tr (events
// sorted by time, replicas in first-seen order).
func (r *Recorder) Fill(tr *trace.Trace) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.order {
		tr.Replicas = append(tr.Replicas, *r.replicas[n])
	}
	tr.Views = append(tr.Views, r.views...)
	tr.Steps = append(tr.Steps, r.steps...)
	tr.Events = append(tr.Events, r.events...)
	sort.SliceStable(tr.Events, func(i, j int) bool { return tr.Events[i].At < tr.Events[j].At })
}

// WorkloadSettings fills the trace settings a real workload decides: its
// replicas, rolling-update bounds, readiness probe, grace period, preStop
// hook and stop signal, from its spec. It also says whether the kubelet
// sends the stop signal at the deletion itself (no preStop hook), which the
// Recorder then records as the signal time.
func WorkloadSettings(s *trace.Settings, replicas *int32, strategy *appsv1.RollingUpdateDeployment, tpl corev1.PodTemplateSpec) (signalAtDeletion bool) {
	if replicas != nil {
		s.Replicas = int(*replicas)
	} else {
		s.Replicas = 1
	}
	if strategy != nil {
		if strategy.MaxSurge != nil {
			s.MaxSurge = strategy.MaxSurge.String()
			if v, err := intstr.GetScaledValueFromIntOrPercent(strategy.MaxSurge, s.Replicas, true); err == nil {
				s.Surge = v
			}
		}
		if strategy.MaxUnavailable != nil {
			s.MaxUnavailable = strategy.MaxUnavailable.String()
			if v, err := intstr.GetScaledValueFromIntOrPercent(strategy.MaxUnavailable, s.Replicas, false); err == nil {
				s.Unavailable = v
			}
		}
	}
	if g := tpl.Spec.TerminationGracePeriodSeconds; g != nil {
		s.Grace = time.Duration(*g) * time.Second
	} else {
		s.Grace = 30 * time.Second
	}
	s.StopSignal = "SIGTERM"
	signalAtDeletion = true
	for _, c := range tpl.Spec.Containers {
		s.Command = append(s.Command, c.Name+"="+c.Image)
		if p := c.ReadinessProbe; p != nil && s.Readiness == "" {
			switch {
			case p.HTTPGet != nil:
				s.Readiness = "http " + p.HTTPGet.Path + " on " + p.HTTPGet.Port.String()
			case p.TCPSocket != nil:
				s.Readiness = "tcp " + p.TCPSocket.Port.String()
			case p.Exec != nil:
				s.Readiness = "exec " + strings.Join(p.Exec.Command, " ")
			case p.GRPC != nil:
				s.Readiness = "grpc"
			}
			s.ProbePeriod = time.Duration(max(p.PeriodSeconds, 1)) * time.Second
		}
		if l := c.Lifecycle; l != nil && l.PreStop != nil {
			signalAtDeletion = false
			switch h := l.PreStop; {
			case h.Exec != nil:
				s.PreStop = "exec " + strings.Join(h.Exec.Command, " ")
			case h.Sleep != nil:
				s.PreStop = fmt.Sprintf("sleep %ds", h.Sleep.Seconds)
				s.PreStopSleep = time.Duration(h.Sleep.Seconds) * time.Second
			case h.HTTPGet != nil:
				s.PreStop = "http " + h.HTTPGet.Path
			}
		}
		if l := c.Lifecycle; l != nil && l.StopSignal != nil {
			s.StopSignal = string(*l.StopSignal)
		}
		for _, p := range c.Ports {
			if p.Name == "admin" {
				s.Lameduck = true // lameduck's admin port, as the demo and deploy/ name it
			}
		}
	}
	if s.Readiness == "" {
		s.Readiness = "none"
	}
	return signalAtDeletion
}
