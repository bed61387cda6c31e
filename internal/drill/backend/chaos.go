package backend

import "context"

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
