package analysis

import (
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

func TestClassify(t *testing.T) {
	refused := &trace.Conn{Outcome: trace.OutcomeRefused}
	forwarded := &trace.Conn{Outcome: trace.OutcomeForwarded}
	tests := []struct {
		name string
		q    trace.Request
		c    *trace.Conn
		want string
	}{
		{"200", trace.Request{Code: 200}, forwarded, ""},
		{"204", trace.Request{Code: 204}, forwarded, ""},
		{"503", trace.Request{Code: 503}, forwarded, Class5xx},
		// vegeta sets the error to the status text for every non-2xx.
		{"503 with vegeta's error text", trace.Request{Code: 503, Error: "503 Service Unavailable"}, forwarded, Class5xx},
		{"500 with vegeta's error text", trace.Request{Code: 500, Error: "500 Internal Server Error"}, forwarded, Class5xx},
		{"504 is 5xx, not a timeout", trace.Request{Code: 504, Error: "504 Gateway Timeout"}, forwarded, Class5xx},
		{"404", trace.Request{Code: 404, Error: "404 Not Found"}, forwarded, ClassOther},
		{"balancer refused, client saw a reset", trace.Request{Error: "read: connection reset by peer", Transport: trace.TransportReset}, refused, ClassRefused},
		{"no endpoint", trace.Request{Error: "connect: connection reset by peer"}, &trace.Conn{Outcome: trace.OutcomeNoEndpoint}, ClassRefused},
		{"reset on a forwarded connection", trace.Request{Error: "read: connection reset by peer", Transport: trace.TransportReset}, forwarded, ClassReset},
		{"refused without a connection record", trace.Request{Error: "dial tcp: connect: connection refused"}, nil, ClassRefused},
		{"EOF", trace.Request{Error: "Post \"x\": EOF", Transport: trace.TransportEOF}, forwarded, ClassEOF},
		{"server closed idle", trace.Request{Error: "http: server closed idle connection"}, forwarded, ClassEOF},
		{"timeout", trace.Request{Error: "Post \"x\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"}, forwarded, ClassTimeout},
		{"broken pipe", trace.Request{Error: "write: broken pipe"}, forwarded, ClassReset},
		{"other", trace.Request{Error: "something odd"}, forwarded, ClassOther},
		{"gRPC OK", trace.Request{GRPCCode: "OK"}, forwarded, ""},
		{"gRPC deadline", trace.Request{GRPCCode: "DeadlineExceeded", Error: "grpc DeadlineExceeded: context deadline exceeded"}, forwarded, ClassTimeout},
		{"gRPC unavailable, balancer refused", trace.Request{GRPCCode: "Unavailable", Error: "grpc Unavailable: connection error: desc = \"error reading server preface: EOF\""}, refused, ClassRefused},
		{"gRPC unavailable, reset", trace.Request{GRPCCode: "Unavailable", Error: "grpc Unavailable: dial tcp 127.0.0.1:1: connect: connection reset by peer"}, forwarded, ClassReset},
		{"gRPC unavailable, refused by the server", trace.Request{GRPCCode: "Unavailable", Error: "grpc Unavailable: lameduck: stopped"}, forwarded, ClassOther},
		{"gRPC internal with a reset message", trace.Request{GRPCCode: "Internal", Error: "grpc Internal: connection reset by peer"}, forwarded, ClassOther},
	}
	for _, tt := range tests {
		if got := Classify(&tt.q, tt.c); got != tt.want {
			t.Errorf("%s: Classify = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func at(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// TestAttribute covers the per-request causes that a recorded run shows
// only by chance (keep-alive races, cuts at exit, crashes, timeouts).
func TestAttribute(t *testing.T) {
	deleted := &trace.Replica{Name: "r0-1", Terminating: at(2), SignalSent: at(2), Exited: at(2.5)}
	killed := &trace.Replica{Name: "r0-2", Terminating: at(2), SignalSent: at(2), Killed: at(4), Exited: at(4.01), ExitSignal: "SIGKILL"}
	crashed := &trace.Replica{Name: "r0-3", Exited: at(3), Unexpected: true, ExitCode: 2}
	running := &trace.Replica{Name: "r1-4"}
	naiveKilled := &trace.Replica{Name: "r0-5", Terminating: at(2), SignalSent: at(2), Exited: at(2.5), ExitCode: -1, ExitSignal: "SIGTERM"}
	closedAt := func(s float64, kind string) *trace.Conn {
		return &trace.Conn{Outcome: trace.OutcomeForwarded, BackendClose: kind, BackendClosed: at(s)}
	}
	fail := func(class string, start, end float64, reused bool) Failure {
		return Failure{Class: class, Start: at(start), End: at(end), Reused: reused}
	}
	tests := []struct {
		name string
		f    Failure
		lc   *trace.Replica
		c    *trace.Conn
		want string
	}{
		{"refused after deletion", fail(ClassRefused, 2.6, 2.6, false), deleted, &trace.Conn{Outcome: trace.OutcomeRefused}, CauseBalancerLag},
		{"refused, empty view", fail(ClassRefused, 1, 1, false), nil, &trace.Conn{Outcome: trace.OutcomeNoEndpoint}, CauseNoEndpoint},
		{"refused by a crashed replica", fail(ClassRefused, 3.2, 3.2, false), crashed, &trace.Conn{Outcome: trace.OutcomeRefused}, CauseCrashed},
		{"in flight at SIGKILL", fail(ClassEOF, 3.9, 4.0, false), killed, closedAt(4.0, trace.CloseFIN), CauseGraceKill},
		{"pinned keep-alive cut at exit", fail(ClassReset, 2.49, 2.51, true), deleted, closedAt(2.5, trace.CloseReset), CausePinnedCut},
		{"idle keep-alive closed by the exiting server", fail(ClassEOF, 2.49, 2.51, true), deleted, closedAt(2.5, trace.CloseFIN), CauseKeepAliveRace},
		{"pinned keep-alive, process killed by the signal", fail(ClassEOF, 2.49, 2.51, true), naiveKilled, closedAt(2.5, trace.CloseFIN), CausePinnedCut},
		{"new connection cut at exit", fail(ClassEOF, 2.49, 2.51, false), deleted, closedAt(2.5, trace.CloseFIN), CauseInFlightExit},
		{"keep-alive race on a live replica", fail(ClassEOF, 1, 1.001, true), running, closedAt(1, trace.CloseFIN), CauseKeepAliveRace},
		{"5xx while terminating", fail(Class5xx, 2.2, 2.2, false), deleted, closedAt(2.5, trace.CloseFIN), Cause5xxTerminating},
		{"5xx before", fail(Class5xx, 1, 1, false), deleted, nil, CauseOther},
		{"timeout on a live replica", fail(ClassTimeout, 1, 6, false), running, nil, CauseTimeout},
		{"RPC refused while stopping", Failure{Class: ClassOther, GRPCCode: "Unavailable", Start: at(2.4), End: at(2.4)}, deleted, nil, CauseRPCRefused},
		{"RPC refused before deletion", Failure{Class: ClassOther, GRPCCode: "Unavailable", Start: at(1), End: at(1)}, deleted, nil, CauseOther},
	}
	for _, tt := range tests {
		f := tt.f
		if got := Attribute(&f, tt.lc, tt.c); got != tt.want {
			t.Errorf("%s: Attribute = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestReadinessVerdict(t *testing.T) {
	sig := 2 * time.Second
	lc := func(probes ...trace.Probe) trace.Replica {
		return trace.Replica{Terminating: sig, SignalSent: sig, ProbeKind: "http", TermProbes: probes}
	}
	tests := []struct {
		name string
		lc   trace.Replica
		want string
	}{
		{"503 after the signal", lc(trace.Probe{At: sig + 300*time.Millisecond, Status: 503}), ReadinessWentUnready},
		{"200 right at the signal does not count", lc(trace.Probe{At: sig + 10*time.Millisecond, Status: 200}), ReadinessNoAnswer},
		{"200 long after the signal", lc(trace.Probe{At: sig + time.Second, Status: 200}), ReadinessStayedReady},
		{"refused", lc(trace.Probe{At: sig + time.Second, Err: "connection refused"}), ReadinessNoAnswer},
		{"not terminated", trace.Replica{}, ""},
		{"tcp probe", trace.Replica{Terminating: sig, SignalSent: sig, ProbeKind: "tcp"}, ""},
	}
	for _, tt := range tests {
		if got := ReadinessVerdict(tt.lc); got != tt.want {
			t.Errorf("%s: verdict = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMomentOf(t *testing.T) {
	steps := []trace.Step{
		{At: time.Second, Rollout: 1, Index: 1, Action: "create", Replica: "r1-4"},
		{At: 2 * time.Second, Rollout: 1, Index: 2, Action: "delete", Replica: "r0-1"},
	}
	rollouts := []trace.Rollout{{Index: 1, Started: time.Second, Completed: 3 * time.Second}}
	for _, tc := range []struct {
		t    time.Duration
		want string
	}{
		{500 * time.Millisecond, "before the first rollout"},
		{2500 * time.Millisecond, "0.5s after rollout 1 step 2 (delete r0-1)"},
		{4 * time.Second, "1.0s after rollout 1 completed"},
	} {
		if got := MomentOf(tc.t, steps, rollouts); got != tc.want {
			t.Errorf("MomentOf(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// TestConnIndex ties a request to the balancer connection that carried it,
// also when the connect itself was reset (no client address known).
func TestConnIndex(t *testing.T) {
	conns := []trace.Conn{
		{ID: 1, Client: "127.0.0.1:5000", Replica: "a", Outcome: trace.OutcomeForwarded, Accepted: 0},
		{ID: 2, Client: "127.0.0.1:5000", Replica: "b", Outcome: trace.OutcomeForwarded, Accepted: at(2)}, // port reused later
		{ID: 3, Client: "127.0.0.1:6000", Replica: "c", Outcome: trace.OutcomeRefused, Accepted: at(1)},
	}
	reqs := []trace.Request{
		{Seq: 1, Local: "127.0.0.1:5000", Start: at(0.1), End: at(0.101)},
		{Seq: 2, Local: "127.0.0.1:5000", Start: at(3), End: at(3.001)},
		{Seq: 3, DialFail: true, Start: at(0.999), End: at(1.001), Error: "reset"},
	}
	ix := newConnIndex(conns, reqs)
	for i, want := range []uint64{1, 2, 3} {
		c := ix.lookup(&reqs[i])
		if c == nil || c.ID != want {
			t.Errorf("request %d: got %+v, want connection %d", reqs[i].Seq, c, want)
		}
	}
	if c := ix.lookup(&trace.Request{DialFail: true, Start: at(1), End: at(1.001)}); c != nil {
		t.Errorf("a reset connection was matched twice: %+v", c)
	}
}
