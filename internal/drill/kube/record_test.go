package kube

import (
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/kube/podload"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// replaySlices runs EndpointSliceEvents over a recorded slice watch.
func replaySlices(t *testing.T, path string) []Event {
	t.Helper()
	last := map[string]*discoveryv1.EndpointSlice{}
	var out []Event
	for i, ev := range readWatch[discoveryv1.EndpointSlice](t, path) {
		s := ev.Object
		cur := &s
		if ev.Type == "DELETED" {
			cur = nil
		}
		out = append(out, EndpointSliceEvents(at(i), last[s.Name], cur)...)
		last[s.Name] = cur
	}
	return out
}

// record feeds events to a recorder whose rollout is triggered just before
// the first deletion (pods first seen before are revision 0).
func record(rec *Recorder, evs []Event) {
	bumped := false
	for _, e := range evs {
		if !bumped && e.Kind == EventPodDeleting {
			rec.NewRevision()
			bumped = true
		}
		rec.Add(e)
	}
}

// TestRecorderOnARecordedDeletion: the recorded deletion of one naive pod
// (no preStop hook: the signal goes at deletion) becomes the local
// backend's lifecycle: deleted, signalled, exited with code 2 (Go's exit on
// SIGTERM as PID 1), not unexpected; its replacement is revision 1, ready;
// the EndpointSlice changes become node 0's views, the endpoint removed.
func TestRecorderOnARecordedDeletion(t *testing.T) {
	rec := NewRecorder(at(0))
	rec.SignalAtDeletion, rec.StopSignal = true, "SIGTERM"
	record(rec, replayPods(t, "testdata/pod-watch-naive-delete.json"))
	for _, e := range replaySlices(t, "testdata/endpointslice-watch-naive-delete.json") {
		rec.Add(e)
	}
	var tr trace.Trace
	rec.Fill(&tr)
	byName := map[string]trace.Replica{}
	for _, rp := range tr.Replicas {
		byName[rp.Name[len(rp.Name)-5:]] = rp
	}
	if len(tr.Replicas) != 4 {
		t.Fatalf("%d replicas, want 4: %+v", len(tr.Replicas), tr.Replicas)
	}
	old := byName["8xwz7"]
	if old.Revision != 0 || old.Terminating == 0 || old.SignalSent != old.Terminating || old.Signal != "SIGTERM" ||
		old.Exited <= old.Terminating || old.ExitCode != 2 || old.Unexpected || old.Killed != 0 {
		t.Errorf("deleted pod: %+v", old)
	}
	repl := byName["pgnhz"]
	if repl.Revision != 1 || repl.Ready == 0 || repl.Terminating != 0 || repl.Exited != 0 {
		t.Errorf("replacement: %+v", repl)
	}
	if r := byName["b84m7"]; r.Revision != 0 || r.Ready == 0 || r.Terminating != 0 {
		t.Errorf("untouched pod: %+v", r)
	}
	var steps []string
	for _, s := range tr.Steps {
		steps = append(steps, s.Action+" "+s.Replica[len(s.Replica)-5:])
	}
	if strings.Join(steps, ",") != "delete 8xwz7,create pgnhz" {
		t.Errorf("steps %v, want delete 8xwz7, create pgnhz", steps)
	}
	var removed, readyNew bool
	for _, v := range tr.Views {
		if v.Node != 0 || v.Addr == "" {
			t.Errorf("view %+v: want node 0 with an address", v)
		}
		removed = removed || (v.Removed && v.Addr == "10.244.0.5")
		readyNew = readyNew || (v.Ready && v.Addr == "10.244.0.10")
	}
	if !removed || !readyNew {
		t.Errorf("views: removed 10.244.0.5 %t, ready 10.244.0.10 %t: %+v", removed, readyNew, tr.Views)
	}
	for i := 1; i < len(tr.Events); i++ {
		if tr.Events[i].At < tr.Events[i-1].At {
			t.Fatalf("events not in time order at %d: %+v", i, tr.Events)
		}
	}
}

// TestRecorderOnARecordedSIGKILL: the kubelet's SIGKILL at the grace
// deadline (exit code 137) is the local backend's SIGKILL; the Killing
// event stays in the timeline.
func TestRecorderOnARecordedSIGKILL(t *testing.T) {
	rec := NewRecorder(at(0))
	evs := append(replayPods(t, "testdata/pod-watch-sigkill.json"), replayEvents(t, "testdata/event-watch-sigkill.json")...)
	for _, e := range evs {
		rec.Add(e)
	}
	var tr trace.Trace
	rec.Fill(&tr)
	if len(tr.Replicas) != 1 {
		t.Fatalf("replicas %+v, want 1", tr.Replicas)
	}
	rp := tr.Replicas[0]
	if rp.Killed == 0 || rp.ExitSignal != "SIGKILL" || rp.ExitCode != -1 || rp.Terminating == 0 || rp.Unexpected {
		t.Errorf("killed pod: %+v", rp)
	}
	if rp.SignalSent != 0 {
		t.Errorf("signal time %v recorded without SignalAtDeletion", rp.SignalSent)
	}
	var killing bool
	for _, e := range tr.Events {
		killing = killing || e.Kind == "kube-"+EventKilling
	}
	if !killing {
		t.Errorf("no kube-killing event in %+v", tr.Events)
	}
}

// TestRecorderRequests: the load's records become trace requests on the
// drill's time base, in sequence order, with the transport classes the
// analysis knows.
func TestRecorderRequests(t *testing.T) {
	rec := NewRecorder(at(0))
	recs := []podload.Record{
		{Seq: 2, ID: "r-2", Start: at(2), Latency: 5 * time.Millisecond, Err: "read: connection reset by peer", Class: "reset", Reused: true},
		{Seq: 1, ID: "r-1", Start: at(1), Latency: time.Millisecond, Code: 200, Local: "10.244.0.9:40000"},
		{Seq: 3, ID: "r-3", Start: at(3), Latency: time.Millisecond, Code: 503, Class: "http-5xx"},
	}
	got := rec.Requests(recs)
	if len(got) != 3 || got[0].ID != "r-1" || got[1].ID != "r-2" || got[2].ID != "r-3" {
		t.Fatalf("requests %+v", got)
	}
	if got[0].Start != time.Second || got[0].End != time.Second+time.Millisecond || !got[0].Acked() || got[0].Local != "10.244.0.9:40000" {
		t.Errorf("r-1: %+v", got[0])
	}
	if got[1].Transport != trace.TransportReset || got[1].Acked() || !got[1].Reused {
		t.Errorf("r-2: %+v", got[1])
	}
	if got[2].Transport != "" || got[2].Acked() || got[2].Code != 503 {
		t.Errorf("r-3: %+v", got[2])
	}
}

// TestRecordedTraceAnalyzes: a trace built from recorded objects and load
// records goes through the analysis unchanged: a reset during the
// deletion is a failure, a lost acknowledged write is found in the ledger.
func TestRecordedTraceAnalyzes(t *testing.T) {
	rec := NewRecorder(at(0))
	rec.SignalAtDeletion, rec.StopSignal = true, "SIGTERM"
	record(rec, replayPods(t, "testdata/pod-watch-naive-delete.json"))
	for _, e := range replaySlices(t, "testdata/endpointslice-watch-naive-delete.json") {
		rec.Add(e)
	}
	var recs []podload.Record
	for i := range 40 {
		r := podload.Record{Seq: uint64(i + 1), ID: "kd-" + string(rune('a'+i)), Start: at(0).Add(time.Duration(i) * 100 * time.Millisecond), Latency: time.Millisecond, Code: 200}
		if i == 20 {
			r.Code, r.Err, r.Class = 0, "read: connection reset by peer", "reset"
		}
		recs = append(recs, r)
	}
	tr := &trace.Trace{Schema: trace.SchemaVersion, Epoch: at(0), Name: "recorded", Backend: "kube", LoadStop: 4 * time.Second, End: 10 * time.Second,
		Rollouts: []trace.Rollout{{Started: time.Second, Completed: 8 * time.Second}}}
	tr.Requests = rec.Requests(recs)
	committed := map[string]int64{}
	for _, q := range tr.Requests {
		if q.Acked() && q.Seq != 5 {
			committed[q.ID] = 1
		}
	}
	tr.Ledger = &trace.Ledger{Source: "test", Committed: committed}
	rec.Fill(tr)
	res := analysis.Analyze(tr)
	if res.Verdict.Pass || res.Load.Failed != 1 || res.Ledger == nil || res.Ledger.Lost != 1 {
		t.Fatalf("verdict %+v, %d failed, ledger %+v; want a fail with 1 failure and 1 lost write", res.Verdict, res.Load.Failed, res.Ledger)
	}
}

// TestWorkloadSettingsOfTheRecordedDeployment: the report's settings come
// from the recorded lameduck Deployment's spec; its preStop hook means the
// signal time is not known at deletion.
func TestWorkloadSettingsOfTheRecordedDeployment(t *testing.T) {
	d := readSnapshots(t, "testdata/rollout-lameduck")[0].d
	var s trace.Settings
	atDeletion := WorkloadSettings(&s, d.Spec.Replicas, d.Spec.Strategy.RollingUpdate, d.Spec.Template)
	if atDeletion {
		t.Error("a pod with a preStop hook: the signal does not go at deletion")
	}
	if s.Replicas != 3 || s.MaxSurge != "1" || s.Surge != 1 || s.MaxUnavailable != "0" || s.Unavailable != 0 ||
		s.Grace != 30*time.Second || s.StopSignal != "SIGTERM" || !s.Lameduck || s.ProbePeriod != time.Second ||
		!strings.HasPrefix(s.PreStop, "exec /lameduck prestop drain") || s.Readiness != "http /readyz on admin" {
		t.Errorf("settings %+v", s)
	}
	// Without the hook, the signal goes at deletion.
	tpl := d.Spec.Template.DeepCopy()
	tpl.Spec.Containers[0].Lifecycle = nil
	var s2 trace.Settings
	if !WorkloadSettings(&s2, d.Spec.Replicas, nil, *tpl) || s2.PreStop != "" {
		t.Errorf("no preStop hook: settings %+v", s2)
	}
}

// TestConnectionsTiePodsAndRefineTheExit: on the recorded deletion of a
// naive pod, the load's records name the pods that answered (the
// X-Lameduck-Pod header) per connection; a failure on a keep-alive
// connection that pod answered earlier is that pod's, at its exit (the
// cut is earlier than the watch reported the exit, so the exit moves to
// it), the acknowledged write it lost is lost at exit, and a refused new
// connection, which no answer named, is the honest unknown.
func TestConnectionsTiePodsAndRefineTheExit(t *testing.T) {
	rec := NewRecorder(at(0))
	rec.SignalAtDeletion, rec.StopSignal = true, "SIGTERM"
	record(rec, replayPods(t, "testdata/pod-watch-naive-delete.json"))
	for _, e := range replaySlices(t, "testdata/endpointslice-watch-naive-delete.json") {
		rec.Add(e)
	}
	var scratch trace.Trace
	rec.Fill(&scratch)
	var old, other trace.Replica
	for _, rp := range scratch.Replicas {
		switch {
		case strings.HasSuffix(rp.Name, "8xwz7"):
			old = rp
		case strings.HasSuffix(rp.Name, "b84m7"):
			other = rp
		}
	}
	if old.Terminating == 0 || old.Exited <= old.Terminating+200*time.Millisecond || other.Name == "" {
		t.Fatalf("recorded lifecycles: old %+v, other %+v", old, other)
	}
	t0 := at(0)
	cut := old.Terminating + 100*time.Millisecond // before the watch's exit
	var recs []podload.Record
	add := func(r podload.Record) {
		r.Seq = uint64(len(recs) + 1)
		r.ID = "kd-" + string(rune('a'+len(recs)))
		recs = append(recs, r)
	}
	for i := range 5 {
		s := old.Terminating - time.Duration(5-i)*100*time.Millisecond
		add(podload.Record{Start: t0.Add(s), Latency: time.Millisecond, Code: 200, Conn: 1, Local: "10.244.0.9:40001", Reused: i > 0, Pod: old.Name})
		add(podload.Record{Start: t0.Add(s), Latency: time.Millisecond, Code: 200, Conn: 2, Local: "10.244.0.9:40002", Reused: i > 0, Pod: other.Name})
	}
	lostID := recs[8].ID // the old pod's last acknowledged write
	add(podload.Record{Start: t0.Add(cut - time.Millisecond), Latency: time.Millisecond, Err: "EOF", Class: "eof", Conn: 1, Local: "10.244.0.9:40001", Reused: true})
	add(podload.Record{Start: t0.Add(cut + 50*time.Millisecond), Latency: time.Millisecond, Err: "dial tcp 10.96.0.20:80: connect: connection refused", Class: "refused", DialFail: true})

	tr := &trace.Trace{Schema: trace.SchemaVersion, Epoch: t0, Name: "recorded", Backend: "kube", LoadStop: 4 * time.Second, End: 10 * time.Second,
		Rollouts: []trace.Rollout{{Started: time.Second, Completed: 8 * time.Second}}}
	tr.Requests = rec.Requests(recs)
	tr.Conns = rec.Connections(recs)
	if len(tr.Conns) != 2 || tr.Conns[0].Replica != old.Name || tr.Conns[1].Replica != other.Name ||
		tr.Conns[0].BackendClose != trace.CloseFIN || tr.Conns[0].BackendClosed != cut || tr.Conns[1].BackendClose != "" {
		t.Fatalf("connections %+v", tr.Conns)
	}
	committed := map[string]int64{}
	for _, q := range tr.Requests {
		if q.Acked() && q.ID != lostID {
			committed[q.ID] = 1
		}
	}
	tr.Ledger = &trace.Ledger{Source: "test", Committed: committed}
	rec.Fill(tr)
	for _, rp := range tr.Replicas {
		if rp.Name == old.Name && rp.Exited != cut {
			t.Errorf("old pod's exit %v, want the cut the load saw at %v", rp.Exited, cut)
		}
	}
	res := analysis.Analyze(tr)
	causes := map[string]string{}
	for _, f := range res.Failures {
		causes[f.ID] = f.Cause + " on " + f.Replica
	}
	want := map[string]string{
		recs[10].ID: analysis.CauseKeepAliveRace + " on " + old.Name,
		recs[11].ID: analysis.CausePodUnknown + " on ",
	}
	for id, w := range want {
		if causes[id] != w {
			t.Errorf("failure %s: %q, want %q (all: %v)", id, causes[id], w, causes)
		}
	}
	if res.Ledger == nil || res.Ledger.Lost != 1 || len(res.Ledger.Examples) != 1 ||
		res.Ledger.Examples[0].Cause != analysis.CauseLostAtExit || res.Ledger.Examples[0].Replica != old.Name {
		t.Errorf("ledger %+v, want the write %s lost at exit on %s", res.Ledger, lostID, old.Name)
	}
}
