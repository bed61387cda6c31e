package analysis

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// load reads a trace recorded by the drill's end-to-end tests
// (go test ./internal/drill -args -record internal/drill/analysis/testdata).
func load(t *testing.T, name string) *trace.Trace {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr trace.Trace
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	return &tr
}

func causes(r *Result) map[string]int64 {
	m := map[string]int64{}
	for _, c := range r.Causes {
		m[c.Key] = c.Count
	}
	return m
}

// TestAnalyzeRecordedTraces: one recorded run per cause, analysed.
func TestAnalyzeRecordedTraces(t *testing.T) {
	tests := []struct {
		trace  string
		pass   bool
		causes map[string]int64
	}{
		{"LameduckServiceWithDrainDelayLosesNothing", true, map[string]int64{}},
		{"AdviceFixesTheService-2", true, map[string]int64{}},
		{"AdviceFixesTheService", false, map[string]int64{CauseBalancerLag: 40}},
		{"NoDrainDelayWhileBalancerLags", false, map[string]int64{CauseBalancerLag: 43}},
		{"NaiveServiceLosesAcknowledgedWork", false, map[string]int64{CauseBalancerLag: 29, CausePinnedCut: 1, CauseLostAtExit: 34}},
		{"EmptyServiceDuringRollout", false, map[string]int64{CauseNoEndpoint: 11, CauseInFlightExit: 1, CauseLostAtExit: 1}},
		{"ServiceAnswering503WhileTerminating", false, map[string]int64{Cause5xxTerminating: 102}},
		{"SignalIgnoringServiceFails", false, map[string]int64{CauseSignalIgnored: 2}},
		{"IgnoredStopSignalIsKilled", false, map[string]int64{CauseSignalIgnored: 1, CauseLostAtExit: 1, CauseReadinessStayed: 1}},
		{"SlowShutdownOutlastsGrace", false, map[string]int64{CauseGraceKill: 14, CauseShutdownTooSlow: 1}},
		{"DroppedAndDuplicatedWritesCaughtByID", false, map[string]int64{CauseLost: 4, CauseDuplicated: 4}},
		{"DeliberateNonZeroExit", true, map[string]int64{CauseNonZeroExit: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.trace, func(t *testing.T) {
			tr := load(t, tt.trace)
			r := Analyze(tr)
			if r.Verdict.Pass != tt.pass {
				t.Errorf("verdict %q, want pass=%v", r.Verdict.Summary, tt.pass)
			}
			if got := causes(r); !reflect.DeepEqual(got, tt.causes) {
				t.Errorf("causes %v, want %v", got, tt.causes)
			}
			checkInvariants(t, tr, r)
		})
	}
}

// checkInvariants holds for every result.
func checkInvariants(t *testing.T, tr *trace.Trace, r *Result) {
	t.Helper()
	if r.Schema != trace.SchemaVersion {
		t.Errorf("schema %d", r.Schema)
	}
	var byClass int64
	for _, n := range r.Load.ByClass {
		byClass += int64(n)
	}
	if byClass != r.Load.Failed || int64(len(r.Failures)) != r.Load.Failed ||
		r.Load.Succeeded+r.Load.Failed+r.Load.CutByDrill != r.Load.Sent {
		t.Errorf("load %+v does not add up (%d failures)", r.Load, len(r.Failures))
	}
	for _, f := range r.Failures {
		if _, ok := CauseByKey(f.Cause); !ok {
			t.Errorf("failure %s: cause %q not in the table", f.ID, f.Cause)
		}
		if f.End < f.Start {
			t.Errorf("failure %s ends before it starts", f.ID)
		}
	}
	failing := false
	for _, c := range r.Causes {
		d, _ := CauseByKey(c.Key)
		failing = failing || d.Fails
	}
	if failing && r.Verdict.Pass {
		t.Errorf("PASS with failing causes %+v", r.Causes)
	}
	last := -1
	order := map[string]int{AdviceKubernetes: 0, AdviceService: 1, AdviceLameduck: 2}
	for _, a := range r.Advice {
		if order[a.Kind] < last {
			t.Errorf("advice out of order (Kubernetes, service, lameduck): %+v", r.Advice)
		}
		last = order[a.Kind]
		if a.Kind == AdviceLameduck && !r.Settings.Lameduck {
			t.Errorf("lameduck advice for a service not built on lameduck: %+v", a)
		}
		if a.Kind != AdviceLameduck && strings.Contains(a.Text, "LAMEDUCK_") {
			t.Errorf("generic advice names a lameduck setting: %+v", a)
		}
	}
	// Pure: the same trace gives the same result.
	if again := Analyze(tr); !reflect.DeepEqual(again, r) {
		t.Errorf("Analyze is not a function of the trace alone")
	}
}

// TestCounterAloneIsWeak: the drop-and-duplicate run, seen through the
// counter only, balances out: the reason the ledger exists.
func TestCounterAloneIsWeak(t *testing.T) {
	tr := load(t, "DroppedAndDuplicatedWritesCaughtByID")
	tr.Ledger = nil
	r := Analyze(tr)
	if r.Counter == nil || r.Counter.Missing != 0 || r.Counter.Extra != 0 {
		t.Fatalf("counter %+v: the recorded run's net count balanced out", r.Counter)
	}
	if !r.Verdict.Pass || !strings.Contains(r.Verdict.Summary, "weak") {
		t.Fatalf("verdict %q: want a pass that says the counter is weak", r.Verdict.Summary)
	}
}

// TestCounterShort: the naive run without its ledger still fails on the
// counter alone, with the counter's cause.
func TestCounterShort(t *testing.T) {
	tr := load(t, "NaiveServiceLosesAcknowledgedWork")
	tr.Ledger = nil
	r := Analyze(tr)
	if r.Verdict.Pass || causes(r)[CauseCounterShort] != 34 {
		t.Fatalf("verdict %q, causes %v: want the counter 34 short", r.Verdict.Summary, causes(r))
	}
}

// TestWritesNotVerified: without ledger or counter, a clean run says so.
func TestWritesNotVerified(t *testing.T) {
	tr := load(t, "LameduckServiceWithDrainDelayLosesNothing")
	tr.Ledger, tr.Counter = nil, nil
	r := Analyze(tr)
	if !r.Verdict.Pass || r.Verdict.WritesVerified || !strings.Contains(r.Verdict.Summary, "writes not verified") {
		t.Fatalf("verdict %+v: want PASS with writes not verified", r.Verdict)
	}
	if strings.Contains(r.Verdict.Summary, "nothing lost") {
		t.Fatalf("verdict %q claims nothing was lost without a store", r.Verdict.Summary)
	}
}

// TestCutByDrillNotBlamed: requests without an answer when the drill
// stopped the load are the drill's, not the service's.
func TestCutByDrillNotBlamed(t *testing.T) {
	tr := load(t, "LameduckServiceWithDrainDelayLosesNothing")
	tr.Requests = append(tr.Requests, trace.Request{Seq: 99999, ID: "cut-1", Start: tr.LoadStop - time.Millisecond, Unfinished: true})
	tr.Ledger.Committed["cut-1"] = 1
	r := Analyze(tr)
	if !r.Verdict.Pass || r.Load.CutByDrill != 1 || r.Ledger.InFlight != 1 || r.Ledger.Phantom != 0 || r.Ledger.Unknown != 0 {
		t.Fatalf("verdict %q, load %+v, ledger %+v: want the cut request kept apart", r.Verdict.Summary, r.Load, r.Ledger)
	}
}

// TestAdviceNumbers: the preStop advice covers the lag minus what the
// service already serves after its signal.
func TestAdviceNumbers(t *testing.T) {
	m := Measures{Lag: 2 * time.Second, KeptServing: 700 * time.Millisecond, LongestOK: 300 * time.Millisecond, StopTook: 100 * time.Millisecond}
	if got := m.PreStopNeed(); got != 2*time.Second {
		t.Errorf("PreStopNeed = %v, want 2s (2s lag + 0.5s margin - 0.7s served, rounded up to 0.5s)", got)
	}
	if got := m.GraceNeed(2 * time.Second); got != 5*time.Second {
		t.Errorf("GraceNeed = %v, want 5s (2s + 0.3s + 2s, rounded up)", got)
	}
	m.PreStop = 3 * time.Second
	if got := m.PreStopNeed(); got != 3500*time.Millisecond {
		t.Errorf("PreStopNeed with a 3s preStop that did not suffice = %v, want more than 3s", got)
	}
}

func TestCausesTableKeysUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Causes {
		if seen[c.Key] || c.Key == "" || c.Explanation == "" {
			t.Errorf("bad or duplicate row %q", c.Key)
		}
		seen[c.Key] = true
	}
}

// TestRefusalsAfterSIGKILLDoNotCountAsReacting: a replica that ignored its
// stop signal is refused by connections and probes once it was SIGKILLed
// (balancer nodes that have not yet learned of the exit); that is no
// reaction to the signal, so the cause stays stop-signal-ignored. (This
// was a flake of TestIgnoredStopSignalIsKilled on a loaded machine.)
func TestRefusalsAfterSIGKILLDoNotCountAsReacting(t *testing.T) {
	tr := load(t, "IgnoredStopSignalIsKilled")
	var killed *trace.Replica
	for i := range tr.Replicas {
		if tr.Replicas[i].Killed > 0 {
			killed = &tr.Replicas[i]
		}
	}
	if killed == nil {
		t.Fatal("the recorded trace has no SIGKILLed replica")
	}
	after := killed.Killed + 10*time.Millisecond
	killed.TermProbes = append(killed.TermProbes, trace.Probe{At: after, Err: "dial tcp: connect: connection refused"})
	tr.Conns = append(tr.Conns, trace.Conn{ID: 1 << 40, Replica: killed.Name, Outcome: trace.OutcomeRefused, Accepted: after})
	c := causes(Analyze(tr))
	if c[CauseSignalIgnored] != 1 || c[CauseShutdownTooSlow] != 0 {
		t.Fatalf("causes %v: want %s once and no %s", c, CauseSignalIgnored, CauseShutdownTooSlow)
	}
	// The same refusal before the SIGKILL is a reaction: the listener closed.
	tr = load(t, "IgnoredStopSignalIsKilled")
	for i := range tr.Replicas {
		if tr.Replicas[i].Killed > 0 {
			killed = &tr.Replicas[i]
		}
	}
	tr.Conns = append(tr.Conns, trace.Conn{ID: 1 << 40, Replica: killed.Name, Outcome: trace.OutcomeRefused, Accepted: killed.Killed - 500*time.Millisecond})
	if c := causes(Analyze(tr)); c[CauseShutdownTooSlow] != 1 {
		t.Fatalf("causes %v: a refusal before the SIGKILL should read as %s", c, CauseShutdownTooSlow)
	}
}
