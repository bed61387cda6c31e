package drill

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/balancer"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
	"google.golang.org/grpc/codes"
)

func TestClassify(t *testing.T) {
	refused := &balancer.ConnRecord{Outcome: balancer.OutcomeRefused}
	forwarded := &balancer.ConnRecord{Outcome: balancer.OutcomeForwarded}
	reset := &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	tests := []struct {
		name string
		q    request
		rec  *balancer.ConnRecord
		want string
	}{
		{"200", request{Code: 200}, forwarded, ""},
		{"204", request{Code: 204}, forwarded, ""},
		{"503", request{Code: 503}, forwarded, Class5xx},
		{"404", request{Code: 404}, forwarded, ClassOther},
		{"balancer refused, client saw a reset", request{Err: "read: connection reset by peer", errv: reset}, refused, ClassRefused},
		{"no endpoint", request{Err: "connect: connection reset by peer"}, &balancer.ConnRecord{Outcome: balancer.OutcomeNoEndpoint}, ClassRefused},
		{"reset on a forwarded connection", request{Err: "read: connection reset by peer", errv: reset}, forwarded, ClassReset},
		{"refused without balancer record", request{Err: "dial tcp: connect: connection refused"}, nil, ClassRefused},
		{"EOF", request{Err: "Post \"x\": EOF", errv: io.EOF}, forwarded, ClassEOF},
		{"server closed idle", request{Err: "http: server closed idle connection"}, forwarded, ClassEOF},
		{"timeout", request{Err: "Post \"x\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"}, forwarded, ClassTimeout},
		{"broken pipe", request{Err: "write: broken pipe"}, forwarded, ClassReset},
		{"other", request{Err: "something odd"}, forwarded, ClassOther},
		{"gRPC OK", request{GRPC: true, Code: 200}, forwarded, ""},
		{"gRPC deadline", request{GRPC: true, Status: codes.DeadlineExceeded, Err: "grpc DeadlineExceeded: context deadline exceeded"}, forwarded, ClassTimeout},
		{"gRPC unavailable, balancer refused", request{GRPC: true, Status: codes.Unavailable, Err: "grpc Unavailable: connection error: desc = \"error reading server preface: EOF\""}, refused, ClassRefused},
		{"gRPC unavailable, reset", request{GRPC: true, Status: codes.Unavailable, Err: "grpc Unavailable: connection error: desc = \"transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection reset by peer\""}, forwarded, ClassReset},
		{"gRPC unavailable, refused by the server", request{GRPC: true, Status: codes.Unavailable, Err: "grpc Unavailable: lameduck: stopped"}, forwarded, ClassOther},
		{"gRPC internal with a reset message", request{GRPC: true, Status: codes.Internal, Err: "grpc Internal: connection reset by peer"}, forwarded, ClassOther},
	}
	for _, tt := range tests {
		if got := classify(tt.q, tt.rec); got != tt.want {
			t.Errorf("%s: classify = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestAttribute(t *testing.T) {
	epoch := time.Now()
	at := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	deleted := &pod.Lifecycle{Name: "r0-1", Terminating: at(2), SignalSent: at(2), Exited: at(2.5), ExitCode: 0}
	killed := &pod.Lifecycle{Name: "r0-2", Terminating: at(2), SignalSent: at(2), Killed: at(4), Exited: at(4.01), ExitSignal: "SIGKILL"}
	crashed := &pod.Lifecycle{Name: "r0-3", Exited: at(3), Unexpected: true, ExitCode: 2}
	running := &pod.Lifecycle{Name: "r1-4"}
	naiveKilled := &pod.Lifecycle{Name: "r0-5", Terminating: at(2), SignalSent: at(2), Exited: at(2.5), ExitCode: -1, ExitSignal: "SIGTERM"}
	closedAt := func(s float64, kind string) *balancer.ConnRecord {
		return &balancer.ConnRecord{Outcome: balancer.OutcomeForwarded, BackendClose: kind, BackendClosed: epoch.Add(at(s))}
	}
	tests := []struct {
		name string
		f    Failure
		lc   *pod.Lifecycle
		rec  *balancer.ConnRecord
		want string
	}{
		{"refused after deletion", Failure{Class: ClassRefused, At: at(2.6)}, deleted, &balancer.ConnRecord{Outcome: balancer.OutcomeRefused}, CauseBalancerLag},
		{"refused, empty view", Failure{Class: ClassRefused, At: at(1)}, nil, &balancer.ConnRecord{Outcome: balancer.OutcomeNoEndpoint}, CauseNoEndpoint},
		{"refused by a crashed replica", Failure{Class: ClassRefused, At: at(3.2)}, crashed, &balancer.ConnRecord{Outcome: balancer.OutcomeRefused}, CauseCrashed},
		{"in flight at SIGKILL", Failure{Class: ClassEOF, At: at(3.9), Latency: at(0.1)}, killed, closedAt(4.0, balancer.CloseFIN), CauseGraceKill},
		{"pinned keep-alive cut at exit", Failure{Class: ClassReset, At: at(2.49), Latency: at(0.02), Reused: true}, deleted, closedAt(2.5, balancer.CloseReset), CausePinnedCut},
		{"idle keep-alive closed by the exiting server", Failure{Class: ClassEOF, At: at(2.49), Latency: at(0.02), Reused: true}, deleted, closedAt(2.5, balancer.CloseFIN), CauseKeepAliveRace},
		{"pinned keep-alive, process killed by the signal", Failure{Class: ClassEOF, At: at(2.49), Latency: at(0.02), Reused: true}, naiveKilled, closedAt(2.5, balancer.CloseFIN), CausePinnedCut},
		{"new connection cut at exit", Failure{Class: ClassEOF, At: at(2.49), Latency: at(0.02)}, deleted, closedAt(2.5, balancer.CloseFIN), CauseInFlightExit},
		{"keep-alive race on a live replica", Failure{Class: ClassEOF, At: at(1), Latency: at(0.001), Reused: true}, running, closedAt(1, balancer.CloseFIN), CauseKeepAliveRace},
		{"5xx while terminating", Failure{Class: Class5xx, At: at(2.2)}, deleted, closedAt(2.5, balancer.CloseFIN), Cause5xxDraining},
		{"5xx before", Failure{Class: Class5xx, At: at(1)}, deleted, nil, CauseOther},
		{"timeout on a live replica", Failure{Class: ClassTimeout, At: at(1), Latency: at(5)}, running, nil, CauseTimeout},
		{"RPC refused while stopping", Failure{Class: ClassOther, GRPCCode: "Unavailable", At: at(2.4)}, deleted, nil, CauseRPCRefused},
		{"RPC refused before deletion", Failure{Class: ClassOther, GRPCCode: "Unavailable", At: at(1)}, deleted, nil, CauseOther},
	}
	for _, tt := range tests {
		f := tt.f
		if got := attribute(&f, tt.lc, tt.rec, epoch); got != tt.want {
			t.Errorf("%s: attribute = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestReadinessVerdict(t *testing.T) {
	sig := 2 * time.Second
	lc := func(probes ...pod.ProbeResult) pod.Lifecycle {
		return pod.Lifecycle{Terminating: sig, SignalSent: sig, TermProbes: probes}
	}
	httpProbe := pod.Probe{Kind: "http", Path: "/readyz"}
	tests := []struct {
		name string
		lc   pod.Lifecycle
		want string
	}{
		{"503 after the signal", lc(pod.ProbeResult{At: sig + 300*time.Millisecond, Status: 503}), "went-unready"},
		{"200 right at the signal does not count", lc(pod.ProbeResult{At: sig + 10*time.Millisecond, Status: 200}), "no-answer"},
		{"200 long after the signal", lc(pod.ProbeResult{At: sig + time.Second, Status: 200}), "stayed-ready"},
		{"refused", lc(pod.ProbeResult{At: sig + time.Second, Err: "connection refused"}), "no-answer"},
		{"not terminated", pod.Lifecycle{}, ""},
	}
	for _, tt := range tests {
		if got := readinessVerdict(tt.lc, httpProbe); got != tt.want {
			t.Errorf("%s: verdict = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := readinessVerdict(lc(pod.ProbeResult{At: sig + time.Second, Status: 200}), pod.Probe{Kind: "tcp"}); got != "" {
		t.Errorf("tcp probe: verdict = %q, want none", got)
	}
}

func TestMomentOf(t *testing.T) {
	steps := []Step{
		{At: time.Second, Rollout: 1, Index: 1, Action: "create", Replica: "r1-4"},
		{At: 2 * time.Second, Rollout: 1, Index: 2, Action: "delete", Replica: "r0-1"},
	}
	rollouts := []RolloutReport{{Index: 1, Started: time.Second, Completed: 3 * time.Second}}
	for _, tc := range []struct {
		t    time.Duration
		want string
	}{
		{500 * time.Millisecond, "before the first rollout"},
		{2500 * time.Millisecond, "rollout 1 step 2 (delete r0-1, +0.5s)"},
		{4 * time.Second, "after rollout 1 (1.0s after it completed)"},
	} {
		if got := momentOf(tc.t, steps, rollouts); got != tc.want {
			t.Errorf("momentOf(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// TestConnIndex ties a request to the balancer connection that carried it,
// also when the connect itself was reset (no client address known).
func TestConnIndex(t *testing.T) {
	t0 := time.Now()
	conns := []balancer.ConnRecord{
		{ID: 1, Client: "127.0.0.1:5000", Backend: "a", Outcome: balancer.OutcomeForwarded, Accepted: t0},
		{ID: 2, Client: "127.0.0.1:5000", Backend: "b", Outcome: balancer.OutcomeForwarded, Accepted: t0.Add(2 * time.Second)}, // port reused later
		{ID: 3, Client: "127.0.0.1:6000", Backend: "c", Outcome: balancer.OutcomeRefused, Accepted: t0.Add(time.Second)},
	}
	reqs := []request{
		{Seq: 1, Local: "127.0.0.1:5000", Start: t0.Add(100 * time.Millisecond), Latency: time.Millisecond},
		{Seq: 2, Local: "127.0.0.1:5000", Start: t0.Add(3 * time.Second), Latency: time.Millisecond},
		{Seq: 3, DialFail: true, Start: t0.Add(time.Second - time.Millisecond), Latency: 2 * time.Millisecond, Err: errors.New("reset").Error()},
	}
	ix := newConnIndex(conns, reqs)
	for i, want := range []uint64{1, 2, 3} {
		rec := ix.lookup(reqs[i])
		if rec == nil || rec.ID != want {
			t.Errorf("request %d: got %s, want connection %d", reqs[i].Seq, fmt.Sprint(rec), want)
		}
	}
	if rec := ix.lookup(request{DialFail: true, Start: t0.Add(time.Second), Latency: time.Millisecond}); rec != nil {
		t.Errorf("a reset connection was matched twice: %+v", rec)
	}
}
