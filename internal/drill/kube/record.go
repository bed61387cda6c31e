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
	// A pod whose container restarted in place (after a SIGKILL by
	// --chaos, or any crash) is one replica per container instance:
	// POD, then POD#N for its N-th restart. cur is each pod's current
	// instance, incs its instances in order.
	cur  map[string]string
	incs map[string][]string
	pods []string // pod names in first-seen order
	// deleted is when each pod's deletion was seen: an instance that
	// starts after it (the kubelet restarted a killed container before
	// the deletion reached it) is terminating from its start.
	deleted map[string]time.Duration
}

// NewRecorder returns a recorder whose time zero is epoch. Pods first seen
// before NewRevision is called are revision 0 (the old template).
func NewRecorder(epoch time.Time) *Recorder {
	return &Recorder{Epoch: epoch, replicas: map[string]*trace.Replica{}, ep: map[string]trace.View{},
		cur: map[string]string{}, incs: map[string][]string{}, deleted: map[string]time.Duration{}}
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

// replica returns the lifecycle of the pod's current container instance,
// creating it (first seen now) when the pod is new.
func (r *Recorder) replica(pod string, at time.Duration) *trace.Replica {
	name := pod
	if c, ok := r.cur[pod]; ok {
		name = c
	}
	rp := r.replicas[name]
	if rp == nil {
		r.cur[pod] = name
		r.incs[pod] = []string{name}
		r.pods = append(r.pods, pod)
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

// restarted records that the pod's container started again in place (its
// restarts-th restart): a new replica POD#restarts of the same revision,
// which is the pod's current instance from now on. The previous instance
// is ended at that time if its exit was not seen.
func (r *Recorder) restarted(pod string, restarts int32, at time.Duration, detail string) {
	old := r.replica(pod, at)
	name := fmt.Sprintf("%s#%d", pod, restarts)
	if r.replicas[name] != nil {
		return
	}
	if old.Exited == 0 {
		old.Exited = at
		old.Unexpected = old.Terminating == 0
	}
	rp := &trace.Replica{Name: name, Revision: old.Revision, Started: at, ProbeKind: "kubelet"}
	if _, ok := r.deleted[pod]; ok {
		// Restarted although the pod is being deleted: the kubelet stops
		// this instance next (preStop, then the stop signal).
		rp.Terminating = at
		if r.SignalAtDeletion {
			rp.SignalSent, rp.Signal = at, r.StopSignal
		}
	}
	r.replicas[name] = rp
	r.order = append(r.order, name)
	r.cur[pod] = name
	r.incs[pod] = append(r.incs[pod], name)
	r.events = append(r.events, trace.Event{At: at, Replica: name, Kind: trace.EventStarted,
		Detail: strings.TrimSpace(fmt.Sprintf("container restarted in place (restart %d, pod %s) %s", restarts, pod, detail))})
}

// Kill records a SIGKILL sent by --chaos at time at to the pod's current
// container instance and returns that instance's replica name. The exit is
// recorded at the kill (the kubelet reports it a second or more later).
func (r *Recorder) Kill(pod string, at time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.since(at)
	rp := r.replica(pod, t)
	if rp.Exited == 0 || rp.Exited > t {
		rp.Exited = t
		rp.ExitCode, rp.ExitSignal = -1, "SIGKILL"
		if rp.Terminating > t {
			// The deletion the watch delivered before this call came
			// after the kill: it found the instance dead.
			rp.Terminating, rp.SignalSent, rp.Signal = 0, 0, ""
		}
		rp.Unexpected = rp.Terminating == 0
	}
	return rp.Name
}

// Next returns the replica that followed name in its pod (its restarted
// container instance), or "".
func (r *Recorder) Next(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	pod, _, _ := strings.Cut(name, "#")
	inc := r.incs[pod]
	for i, n := range inc {
		if n == name && i+1 < len(inc) {
			return inc[i+1]
		}
	}
	return ""
}

// instanceAt returns the pod's container instance that was running at t:
// the last one started at or before t.
func (r *Recorder) instanceAt(pod string, t time.Duration) string {
	inc := r.incs[pod]
	if len(inc) == 0 {
		return pod
	}
	name := inc[0]
	for _, n := range inc[1:] {
		if rp := r.replicas[n]; rp != nil && rp.Started <= t {
			name = n
		}
	}
	return name
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
	if c, ok := r.cur[e.Pod]; ok {
		ev.Replica = c
	}
	switch e.Kind {
	case EventContainerRestarted:
		r.restarted(e.Pod, e.Restarts, at, e.Detail)
		return
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
		if _, ok := r.deleted[e.Pod]; !ok {
			r.deleted[e.Pod] = at
		}
		switch {
		case rp.Exited != 0 && rp.Exited <= at && rp.Unexpected:
			// A deletion of a pod whose container was already dead (a
			// --chaos kill, a crash): the instance ended on its own; the
			// controller's step is recorded, the lifecycle is not.
			if r.revision > 0 {
				r.step(at, trace.StepDelete, ev.Replica)
			}
		case rp.Terminating == 0:
			rp.Terminating = at
			if r.revision > 0 {
				r.step(at, trace.StepDelete, ev.Replica)
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
		ev.Kind = trace.EventExited
		ev.Detail = strings.Join(strings.Fields(fmt.Sprintf("container %s: exit code %d %s %s", e.Container, e.ExitCode, e.Signal, e.Detail)), " ")
		if rp.Exited != 0 {
			// One exit per instance: the first container's, or the
			// kill's (--chaos) that the kubelet confirms here.
			ev.Detail += " (exit already recorded)"
			r.events = append(r.events, ev)
			return
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
	name := key
	if c, ok := r.cur[key]; ok {
		name = c
	}
	v := r.ep[key]
	if v.Replica != "" && v.Replica != name {
		v = trace.View{} // a restarted instance: its own view from now on
	}
	v.Replica, v.Addr = name, e.IP
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
			Error: q.Err, Local: q.Local, Reused: q.Reused, DialFail: q.DialFail, GaveUp: q.GaveUp}
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

// SetOutput records a log tail as a replica's output (a pod name means its
// current container instance; it must have been seen).
func (r *Recorder) SetOutput(name, out string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.cur[name]; ok {
		name = c
	}
	if rp := r.replicas[name]; rp != nil {
		rp.Output = out
	}
}

// Current returns the replica name of the pod's current container instance.
func (r *Recorder) Current(pod string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.cur[pod]; ok {
		return c
	}
	return pod
}

// Pods returns the names of the pods seen, in first-seen order.
func (r *Recorder) Pods() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.pods...)
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
	firstAnswer := map[string]time.Duration{}
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
			firstAnswer[key] = end
		}
		if c.BackendClose == "" && (q.Class == trace.TransportReset || q.Class == trace.TransportEOF) {
			c.BackendClose, c.BackendClosed = trace.CloseFIN, end
			if q.Class == trace.TransportReset {
				c.BackendClose = trace.CloseReset
			}
		}
	}
	r.mu.Lock()
	for _, k := range keys {
		// The pod's container instance that gave the first answer (a
		// keep-alive connection does not outlive its process).
		if c := byKey[k]; c.Replica != "" {
			c.Replica = r.instanceAt(c.Replica, firstAnswer[k])
		}
	}
	r.mu.Unlock()
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
