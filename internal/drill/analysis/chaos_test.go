package analysis

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// chaosTrace is a hand-made trace with one of each chaos outcome: r1 is
// SIGKILLed at 2s; the client retries (--retry).
func chaosTrace() *trace.Trace {
	const a, b, c, d = "127.0.0.1:5001", "127.0.0.1:5002", "127.0.0.1:5003", "127.0.0.1:5004"
	cut := trace.Attempt{Start: sec(1.8), End: sec(2), Error: "read: connection reset by peer", Transport: trace.TransportReset, Local: a, Reason: "connection_lost"}
	return &trace.Trace{
		Schema:   trace.SchemaVersion,
		Settings: trace.Settings{Method: "POST", Path: "/incr", Rate: 10, Retry: true},
		Replicas: []trace.Replica{
			{Name: "r1", Started: sec(0), Ready: sec(0.2), Exited: sec(2), ExitCode: -1, ExitSignal: "SIGKILL", Unexpected: true},
			{Name: "r2", Started: sec(0), Ready: sec(0.2), Exited: sec(4), ExitCode: -1, ExitSignal: "SIGKILL", StoppedAtEnd: true},
			{Name: "r3", Started: sec(2), Ready: sec(2.3), Exited: sec(4), ExitCode: -1, ExitSignal: "SIGKILL", StoppedAtEnd: true},
		},
		Conns: []trace.Conn{
			{ID: 1, Client: a, Replica: "r1", Outcome: trace.OutcomeForwarded, Accepted: sec(1.5), Ended: sec(2), BackendClose: trace.CloseReset, BackendClosed: sec(2)},
			{ID: 2, Client: b, Replica: "r2", Outcome: trace.OutcomeForwarded, Accepted: sec(2.1)},
			{ID: 3, Client: c, Replica: "r1", Outcome: trace.OutcomeRefused, Accepted: sec(2.2), Ended: sec(2.2)},
			{ID: 4, Client: d, Replica: "r1", Outcome: trace.OutcomeRefused, Accepted: sec(2.25), Ended: sec(2.25)},
		},
		Chaos: &trace.Chaos{Spec: "1 replica kills over 2s", Scope: trace.ChaosReplica, WindowStart: sec(1), WindowEnd: sec(3),
			Kills: []trace.Kill{{At: sec(2), Scope: trace.ChaosReplica, Replicas: []string{"r1"}, Replacements: []string{"r3"}}}},
		Requests: []trace.Request{
			// Cut by the kill after its write, retried, answered by r2,
			// and applied twice: the server did not deduplicate.
			{Seq: 1, ID: "x-1", Start: sec(1.8), End: sec(2.3), Code: 200, Local: b, Retried: []trace.Attempt{cut}},
			// In flight at the kill, not retried (a failure the policy
			// did not retry), not written.
			{Seq: 2, ID: "x-2", Start: sec(1.9), End: sec(2), Error: "EOF", Transport: trace.TransportEOF, Local: a, Reused: true},
			// Acknowledged by r1 before the kill, never written.
			{Seq: 3, ID: "x-3", Start: sec(1.6), End: sec(1.7), Code: 200, Local: a, Reused: true},
			// Refused: routed to the dead r1.
			{Seq: 4, ID: "x-4", Start: sec(2.2), End: sec(2.2), Error: "connection reset by peer", Local: c},
			// Retried, and refused again: failed for good.
			{Seq: 5, ID: "x-5", Start: sec(1.9), End: sec(2.25), Error: "connection reset by peer", Local: d, Retried: []trace.Attempt{cut}},
			// Cut by the kill after its write: committed, failed.
			{Seq: 6, ID: "x-6", Start: sec(1.95), End: sec(2), Error: "EOF", Transport: trace.TransportEOF, Local: a, Reused: true},
		},
		LoadStart: sec(0.5), LoadStop: sec(3), End: sec(4),
		Ledger: &trace.Ledger{Source: "test", Committed: map[string]int64{"x-1": 2, "x-6": 1}},
	}
}

// TestChaosAttribution: each failure and ledger discrepancy on the killed
// replica is tied to the kill, with its own cause.
func TestChaosAttribution(t *testing.T) {
	tr := chaosTrace()
	r := Analyze(tr)
	want := map[string]int64{
		CauseChaosKill: 1, CauseKilledInFlight: 2, CauseDeadEndpoint: 1, CauseFailedForGood: 1,
		CauseLostOnKill: 1, CauseDupRetry: 1, CausePhantomOnKill: 1,
	}
	if got := causes(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("causes %v, want %v", got, want)
	}
	if r.Verdict.Pass {
		t.Fatalf("PASS with a lost and a duplicated write")
	}
	for _, reason := range r.Verdict.Reasons {
		if reason == "replica r1 exited without being deleted (killed by SIGKILL)" {
			t.Fatalf("the chaos kill itself fails the verdict: %q", r.Verdict.Reasons)
		}
	}
	if r.Chaos == nil || len(r.Chaos.Kills) != 1 {
		t.Fatalf("chaos report %+v", r.Chaos)
	}
	k := r.Chaos.Kills[0]
	// Failed: x-2, x-4, x-5 (its last attempt refused by the dead r1), x-6.
	if k.Failed != 4 || k.Retried != 2 || k.Lost != 1 || k.Duplicated != 1 || k.Phantom != 1 {
		t.Fatalf("kill report %+v: want 4 failed, 2 retried, 1 lost, 1 duplicated, 1 phantom", k)
	}
	rr := r.Retry
	if rr == nil || rr.Requests != 2 || rr.Attempts != 2 || rr.Saved != 1 || rr.FailedForGood != 4 || rr.ByReason["connection_lost"] != 2 {
		t.Fatalf("retry report %+v", rr)
	}
	if rr.P99Retried != sec(0.5) {
		t.Fatalf("p99 of retried requests %v, want 500ms (x-1 from its first attempt to its answer)", rr.P99Retried)
	}
	advice := map[string]bool{}
	for _, a := range r.Advice {
		advice[a.Cause] = true
	}
	for _, c := range []string{CauseLostOnKill, CauseDupRetry, CauseKilledInFlight} {
		if !advice[c] {
			t.Errorf("no advice for %s: %+v", c, r.Advice)
		}
	}
	checkInvariants(t, tr, r)
}

// TestNoChaosNoReport: without --chaos and --retry the result has
// neither section, and an unexpected exit is still a crash.
func TestNoChaosNoReport(t *testing.T) {
	tr := chaosTrace()
	tr.Chaos, tr.Settings.Retry = nil, false
	r := Analyze(tr)
	if r.Chaos != nil || r.Retry != nil {
		t.Fatalf("chaos %+v, retry %+v without --chaos or --retry", r.Chaos, r.Retry)
	}
	if causes(r)[CauseCrashed] == 0 || causes(r)[CauseChaosKill] != 0 {
		t.Fatalf("causes %v: an unplanned SIGKILL is a crash", causes(r))
	}
}

// TestAnalyzeRecordedChaosTraces: runs of internal/drill's chaos tests
// (recorded with -args -record), analysed.
func TestAnalyzeRecordedChaosTraces(t *testing.T) {
	tests := []struct {
		trace  string
		pass   bool
		causes map[string]int64
	}{
		{"ChaosFiveSeeds-crashsafe-seed1", true, map[string]int64{CauseChaosKill: 2}},
		{"ChaosFiveSeeds-lameduck-seed1", false, map[string]int64{CauseChaosKill: 2, CauseLostOnKill: 30}},
		{"ChaosFiveSeeds-naive-seed1", false, map[string]int64{CauseChaosKill: 2, CauseLostOnKill: 16, CauseLostAtExit: 15}},
		{"ChaosWithoutRetryAdvisesRetry", false, map[string]int64{CauseChaosKill: 2, CauseKilledInFlight: 24, CauseDeadEndpoint: 18}},
		{"ChaosNodeKill", true, map[string]int64{CauseChaosKill: 1}},
		// drill --kube --chaos 1 --chaos-scope node on the single-node
		// cluster of scripts/kube, during the rollout: all three pods of
		// the workload SIGKILLed at once by the agent pod, restarted in
		// place (POD#1) or deleted by the rollout. Crashsafe's pods
		// (readiness failureThreshold 1) left the Service without a ready
		// endpoint from 0.75s after the kill: the 28 refusals then are
		// no-endpoint; the 24 before it (kube-proxy still routing to the
		// dead pods) stay pod-unknown. Naive's (failureThreshold 3) were
		// restarted before their endpoints went unready.
		{"KubeChaosNodeKill-naive", false, map[string]int64{CausePodUnknown: 44, CauseLostAtExit: 12, CauseNonZeroExit: 1,
			CauseChaosKill: 3, CauseKilledInFlight: 3, CauseLostOnKill: 50}},
		{"KubeChaosNodeKill-crashsafe", false, map[string]int64{CausePodUnknown: 24, CauseNoEndpoint: 28, CauseChaosKill: 3, CauseKilledInFlight: 23}},
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
			if r.Chaos == nil {
				t.Fatal("no chaos report")
			}
			var lost, failed int64
			for _, k := range r.Chaos.Kills {
				lost += k.Lost
				failed += k.Failed
			}
			if lost != causes(r)[CauseLostOnKill] {
				t.Errorf("%d lost in the kill reports, %d attributed to %s", lost, causes(r)[CauseLostOnKill], CauseLostOnKill)
			}
			if want := causes(r)[CauseKilledInFlight] + causes(r)[CauseDeadEndpoint]; failed != want {
				t.Errorf("%d failed in the kill reports, %d attributed to the kill causes", failed, want)
			}
			checkInvariants(t, tr, r)
		})
	}
}

// TestAnalyzeRecordedKillsDuringRollout: runs whose kills hit while the
// rollout ran (recorded with -args -record: TestChaosKillsDuringRollout,
// and TestChaosFiveSeeds' naive seed 1, renamed). Each failure and loss
// is tied to the kill that caused it, on its victim, and each of the
// rollout's (the naive service's writes lost at its deleted replicas'
// exit) to the rollout, on a replica it deleted: neither is taken for
// the other although they happen at the same time.
func TestAnalyzeRecordedKillsDuringRollout(t *testing.T) {
	killCauses := map[string]bool{CauseChaosKill: true, CauseKilledInFlight: true, CauseDeadEndpoint: true,
		CauseLostOnKill: true, CausePhantomOnKill: true}
	tests := []struct {
		trace  string
		causes map[string]int64
	}{
		// lameduck, 3 replicas, no retries: kill 1 (an old replica) loses
		// the writes it acknowledged in the 300ms before; requests
		// still routed to it are refused.
		{"ChaosKillsDuringRollout", map[string]int64{CauseChaosKill: 2, CauseDeadEndpoint: 2, CauseLostOnKill: 7}},
		// naive, retries: the writes pending at the deleted replica's
		// exit are the rollout's, those at the kills the kills'.
		{"ChaosFiveSeeds-naive-seed1-during-rollout", map[string]int64{CauseChaosKill: 2, CauseLostOnKill: 29, CauseLostAtExit: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.trace, func(t *testing.T) {
			tr := load(t, tt.trace)
			r := Analyze(tr)
			if r.Verdict.Pass {
				t.Errorf("verdict %q: want a failure", r.Verdict.Summary)
			}
			if got := causes(r); !reflect.DeepEqual(got, tt.causes) {
				t.Errorf("causes %v, want %v", got, tt.causes)
			}
			if len(tr.Rollouts) != 1 || tr.Chaos == nil {
				t.Fatalf("rollouts %+v, chaos %+v", tr.Rollouts, tr.Chaos)
			}
			ro, during := tr.Rollouts[0], 0
			victims := map[string]bool{}
			for _, k := range tr.Chaos.Kills {
				if k.At > ro.Started && k.At < ro.Completed {
					during++
				}
				for _, v := range k.Replicas {
					victims[v] = true
				}
			}
			for _, k := range r.Chaos.Kills {
				if in := k.At > ro.Started && k.At < ro.Completed; in != (k.Rollout == 1) || in != strings.Contains(KillText(k), "during rollout 1") {
					t.Errorf("kill %+v, %q: rollout %d", k, KillText(k), k.Rollout)
				}
			}
			if during == 0 {
				t.Fatalf("no kill between the rollout's start %v and completion %v: not a trace of a kill during a rollout", ro.Started, ro.Completed)
			}
			deleted := map[string]bool{}
			for _, s := range tr.Steps {
				if s.Action == trace.StepDelete {
					deleted[s.Replica] = true
				}
			}
			for _, c := range r.Causes {
				for _, name := range c.Replicas {
					if killCauses[c.Key] != victims[name] || (!killCauses[c.Key] && !deleted[name]) {
						t.Errorf("cause %s on %s (killed %v, deleted by the rollout %v): attributed to the wrong event", c.Key, name, victims[name], deleted[name])
					}
				}
			}
			var lost, failed int64
			for _, k := range r.Chaos.Kills {
				lost += k.Lost
				failed += k.Failed
			}
			if lost != causes(r)[CauseLostOnKill] || failed != causes(r)[CauseKilledInFlight]+causes(r)[CauseDeadEndpoint] {
				t.Errorf("kill reports: %d lost, %d failed; causes %v", lost, failed, causes(r))
			}
			checkInvariants(t, tr, r)
		})
	}
}

// TestDuplicateNotTiedToKillWhenRolloutCutToo: a retried request applied
// twice with no recorded attempt on the killed replica (net/http's own
// re-send) is tied to the kill that happened while it was out, unless a
// replica the rollout deleted also died abruptly then: the unrecorded
// attempt may have been cut there, and the kill is not credited.
func TestDuplicateNotTiedToKillWhenRolloutCutToo(t *testing.T) {
	dupOnly := func() *trace.Trace {
		tr := chaosTrace()
		// x-1 without its recorded attempt.
		tr.Requests[0].Retried = nil
		return tr
	}
	r := Analyze(dupOnly())
	if k := r.Chaos.Kills[0]; k.Duplicated != 1 {
		t.Fatalf("kill %+v: want the duplicate tied to the kill during the request", k)
	}
	// r4, deleted by the rollout, dies on its SIGTERM at 2.1s, while
	// x-1 is out.
	withR4 := func(conn bool) *trace.Trace {
		tr := dupOnly()
		tr.Replicas = append(tr.Replicas, trace.Replica{Name: "r4", Revision: 0, Started: sec(0), Ready: sec(0.2),
			Terminating: sec(1.5), SignalSent: sec(1.5), Exited: sec(2.1), ExitCode: -1, ExitSignal: "SIGTERM"})
		if conn {
			tr.Conns = append(tr.Conns, trace.Conn{ID: 5, Client: "127.0.0.1:5005", Replica: "r4", Outcome: trace.OutcomeForwarded,
				Accepted: sec(1), Ended: sec(2.1), BackendClose: trace.CloseFIN, BackendClosed: sec(2.1)})
		}
		return tr
	}
	r = Analyze(withR4(true))
	if k := r.Chaos.Kills[0]; k.Duplicated != 0 || causes(r)[CauseDupRetry] != 1 {
		t.Fatalf("kill %+v, causes %v: want the duplicate a retry's, not tied to the kill (the deleted r4 died on SIGTERM meanwhile)", k, causes(r))
	}
	// Without a connection open there (deleted before it served), r4's
	// death cut nothing: the kill is credited.
	r = Analyze(withR4(false))
	if k := r.Chaos.Kills[0]; k.Duplicated != 1 {
		t.Fatalf("kill %+v: r4 carried no connection, the duplicate is the kill's", k)
	}
}

// TestGaveUpOnBudget: the retry report counts the failed requests by why
// the client stopped, and a request whose retries ran out of time gets
// advice naming the budget; without one, failed-after-retries has none.
func TestGaveUpOnBudget(t *testing.T) {
	tr := chaosTrace()
	tr.Settings.Timeout = 5 * time.Second
	tr.Requests[4].GaveUp = trace.GaveUpBudget // x-5
	r := Analyze(tr)
	want := map[string]int64{trace.GaveUpBudget: 1, "not-retried": 3}
	if r.Retry == nil || !reflect.DeepEqual(r.Retry.GaveUp, want) {
		t.Fatalf("retry report %+v, want gave_up %v", r.Retry, want)
	}
	var text string
	for _, a := range r.Advice {
		if a.Cause == CauseFailedForGood {
			text = a.Text
		}
	}
	if !strings.HasPrefix(text, "1 requests ran out of their 5s budget") || !strings.Contains(text, "--timeout") {
		t.Errorf("advice for %s: %q, want the budget named", CauseFailedForGood, text)
	}
	checkInvariants(t, tr, r)

	tr = chaosTrace()
	tr.Requests[4].GaveUp = trace.GaveUpAttempts
	for _, a := range Analyze(tr).Advice {
		if a.Cause == CauseFailedForGood {
			t.Errorf("advice for %s without a request out of budget: %q", CauseFailedForGood, a.Text)
		}
	}
}
