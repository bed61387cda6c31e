package analysis

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// TestNoReadyEndpoint: the spans without a ready endpoint start when the
// last ready one goes (not before any was ready), end when one is ready
// again plus kube-proxy's lag, follow a pod across its restarted
// instances (POD, POD#1) by address, and stay open at the end.
func TestNoReadyEndpoint(t *testing.T) {
	v := func(at float64, replica, addr string, ready, removed bool) trace.View {
		return trace.View{Replica: replica, Addr: addr, Ready: ready, Removed: removed, Applied: sec(at), Changed: sec(at)}
	}
	views := []trace.View{
		v(0.5, "a", "10.0.0.1", true, false),
		v(0.6, "b", "10.0.0.2", true, false),
		v(2, "a", "10.0.0.1", false, false),
		v(2.1, "b", "10.0.0.2", false, false), // none ready from 2.1
		v(3, "a#1", "10.0.0.1", true, false),  // a's restarted instance: ready at 3
		v(4, "a#1", "10.0.0.1", false, true),  // removed
		v(5, "b#1", "10.0.0.2", true, false),
		v(6, "b#1", "10.0.0.2", false, false), // none ready from 6 to the end
	}
	want := []interval{{sec(2.1), sec(3) + kubeProxyLag}, {sec(4), sec(5) + kubeProxyLag}, {sec(6), 1<<63 - 1}}
	// Given out of order: sorted by when the view was applied.
	shuffled := slices.Clone(views)
	slices.Reverse(shuffled)
	if got := noReadyEndpoint(shuffled); !reflect.DeepEqual(got, want) {
		t.Fatalf("noReadyEndpoint = %v, want %v", got, want)
	}
	if got := noReadyEndpoint(views[2:4]); got != nil {
		t.Errorf("no endpoint was ever ready: %v, want no span", got)
	}
	for _, span := range [][2]float64{{0, 1}, {1, 2}, {1, 2.1}, {2.2, 2.3}, {3.9, 3.95}, {100, 101}} {
		inside := span[1] >= 2.1
		if got := duringNoEndpoint(want, sec(span[0]), sec(span[1])); got != inside {
			t.Errorf("duringNoEndpoint(%v, %v) = %v, want %v", span[0], span[1], got, inside)
		}
	}
}

// TestKubeNoEndpointFailures: on a --kube trace, a request whose new
// connection was refused, or timed out without ever being established,
// while the Service had no ready endpoint is no-endpoint; the same
// failures outside that span stay pod-unknown (refused) and timeout, and
// a timeout on an established connection is not the Service's emptiness.
func TestKubeNoEndpointFailures(t *testing.T) {
	tr := &trace.Trace{
		Schema: trace.SchemaVersion, Backend: "kube",
		Settings: trace.Settings{Method: "GET", Path: "/", Rate: 10, Timeout: 5 * time.Second},
		Views: []trace.View{
			{Replica: "p", Addr: "10.0.0.1", Ready: true, Applied: sec(0.1)},
			{Replica: "p", Addr: "10.0.0.1", Ready: false, Applied: sec(2)},
			{Replica: "p#1", Addr: "10.0.0.1", Ready: true, Applied: sec(4)},
		},
		Requests: []trace.Request{
			{Seq: 1, ID: "r-1", Start: sec(1), End: sec(1), Error: "connection refused", Transport: trace.TransportRefused, DialFail: true},
			{Seq: 2, ID: "r-2", Start: sec(2.5), End: sec(2.5), Error: "connection refused", Transport: trace.TransportRefused, DialFail: true},
			{Seq: 3, ID: "r-3", Start: sec(2.6), End: sec(7.6), Error: "context deadline exceeded", Transport: trace.TransportTimeout},
			{Seq: 4, ID: "r-4", Start: sec(6), End: sec(11), Error: "context deadline exceeded", Transport: trace.TransportTimeout},
			{Seq: 5, ID: "r-5", Start: sec(2.7), End: sec(7.7), Error: "context deadline exceeded", Transport: trace.TransportTimeout, Local: "10.1.0.9:4000"},
		},
		LoadStart: 0, LoadStop: sec(12), End: sec(12),
	}
	r := Analyze(tr)
	want := map[uint64]string{1: CausePodUnknown, 2: CauseNoEndpoint, 3: CauseNoEndpoint, 4: CauseTimeout, 5: CauseTimeout}
	for _, f := range r.Failures {
		if f.Cause != want[f.Seq] {
			t.Errorf("request %d (%s, %v..%v): cause %s, want %s", f.Seq, f.Class, f.Start, f.End, f.Cause, want[f.Seq])
		}
	}
	if len(r.Failures) != len(want) {
		t.Fatalf("%d failures, want %d", len(r.Failures), len(want))
	}
	checkInvariants(t, tr, r)
}
