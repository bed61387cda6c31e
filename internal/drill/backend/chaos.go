package backend

import (
	"context"
	"math/rand/v2"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Chaos is implemented by a backend that can kill replicas the hard way,
// for --chaos. The local backend implements it; a Kubernetes backend would
// kill the pods' containers (or drain and stop a node) and let the
// cluster's own ReplicaSet controller replace them.
type Chaos interface {
	// NodeOf returns the node group (0 ≤ n < Nodes) a replica runs on.
	NodeOf(name string) int
	// Kill SIGKILLs the named replicas at once: no deletion first, no
	// preStop, no stop signal, so their endpoints stay in every balancer
	// view until each node learns, after its propagation lag, that they
	// are gone. It waits until they have exited, then starts one
	// replacement of the same revision for each, as a ReplicaSet would,
	// and returns the replacements' names (they become ready later).
	Kill(ctx context.Context, names []string) (replacements []string, err error)
}

// Victims is the rule every backend follows to pick what one --chaos kill
// takes. live holds the candidates that run and are not being deleted, in
// a stable order; one is drawn with rng among the ready ones (any live one
// when none is ready: a kill of a replacement that is not ready yet would
// test nothing). With scope trace.ChaosNode the kill takes every live
// candidate on the drawn one's node. Nil when nothing is live.
func Victims[T any, N comparable](live []T, ready func(T) bool, node func(T) N, scope string, rng *rand.Rand) []T {
	if len(live) == 0 {
		return nil
	}
	var from []T
	for _, c := range live {
		if ready(c) {
			from = append(from, c)
		}
	}
	if len(from) == 0 {
		from = live
	}
	pick := from[rng.IntN(len(from))]
	if scope != trace.ChaosNode {
		return []T{pick}
	}
	var group []T
	for _, c := range live {
		if node(c) == node(pick) {
			group = append(group, c)
		}
	}
	return group
}
