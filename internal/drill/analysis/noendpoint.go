package analysis

import (
	"slices"
	"strings"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// kubeProxyLag is how long after an EndpointSlice change kube-proxy may
// still apply the old rules (its sync, unobserved by the drill; measured
// in docs/fidelity.md): the margin added to the end of a no-endpoint
// interval seen in the API.
const kubeProxyLag = time.Second

// interval is a span of the run's time.
type interval struct{ from, to time.Duration }

// noReadyEndpoint returns the spans during which a --kube trace's
// EndpointSlices held no ready endpoint, once one had been ready (the
// views of node 0 are the API's): while they last kube-proxy REJECTs new
// connections to the Service. Each span is extended by kubeProxyLag.
func noReadyEndpoint(views []trace.View) []interval {
	vs := slices.Clone(views)
	slices.SortStableFunc(vs, func(a, b trace.View) int { return int(a.Applied - b.Applied) })
	ready := map[string]bool{}
	var out []interval
	seen, empty := false, time.Duration(-1)
	for _, v := range vs {
		key := v.Addr
		if key == "" {
			key, _, _ = strings.Cut(v.Replica, "#")
		}
		if v.Ready && !v.Removed {
			ready[key] = true
		} else {
			delete(ready, key)
		}
		switch {
		case len(ready) > 0 && empty >= 0:
			out = append(out, interval{empty, v.Applied + kubeProxyLag})
			empty = -1
		case len(ready) > 0:
			seen = true
		case seen && empty < 0:
			empty = v.Applied
		}
	}
	if empty >= 0 {
		out = append(out, interval{empty, 1<<63 - 1})
	}
	return out
}

// duringNoEndpoint reports whether [from, to] overlaps a span without a
// ready endpoint.
func duringNoEndpoint(ivs []interval, from, to time.Duration) bool {
	for _, iv := range ivs {
		if from <= iv.to && to >= iv.from {
			return true
		}
	}
	return false
}
