package local

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/backend"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
)

var _ backend.Chaos = (*Backend)(nil)

// NodeOf implements backend.Chaos: replicas are placed on the nodes in
// turn, in start order (the n-th replica started runs on node n mod Nodes),
// so a node group holds the replicas of several revisions, as a
// scheduler spreading a Deployment would.
func (b *Backend) NodeOf(name string) int {
	for i, p := range b.all() {
		if p.Name() == name {
			return i % b.Nodes()
		}
	}
	return -1
}

// Kill implements backend.Chaos: SIGKILL to each replica's process group
// (the whole "container"), without marking it deleted, so it ends as an
// unexpected exit; its endpoint leaves each balancer node after that
// node's lag, when the exit is published. Then one replacement per
// killed replica, of its revision.
func (b *Backend) Kill(ctx context.Context, names []string) ([]string, error) {
	var pods []*pod.Pod
	for _, name := range names {
		p := b.find(name)
		if p == nil {
			return nil, fmt.Errorf("local: no replica %q", name)
		}
		pods = append(pods, p)
	}
	for _, p := range pods {
		if pid := p.Lifecycle().PID; pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	var out []string
	for _, p := range pods {
		select {
		case <-p.Done():
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(10 * time.Second):
			return out, fmt.Errorf("local: replica %s still runs 10s after SIGKILL", p.Name())
		}
		name, err := b.Start(ctx, p.Revision())
		if err != nil {
			return out, err
		}
		out = append(out, name)
	}
	return out, nil
}
