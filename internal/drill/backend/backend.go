// Package backend is the seam between the drill and what runs the
// replicas: the local emulation (package local: processes behind an
// emulated kube-proxy) or a real cluster. The drill's rollout controller,
// load, ledger and analysis only talk to a Backend, so a new backend (or
// chaos injected into one) changes nothing else.
package backend

import (
	"context"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Backend makes replicas of one service and deletes them.
//
// Delete follows the kubelet's termination order, with T0 = deletion:
//
//	T0          the replica is terminating: it leaves the endpoints (each
//	            balancer node learns it after its own lag) and, at the same
//	            moment, its preStop hook starts.
//	T0+preStop  the stop signal is sent.
//	SIGKILL     max(grace − time spent in preStop, 2s) after the signal.
//
// Every method may be called from several goroutines.
type Backend interface {
	// Name names the backend in reports ("local").
	Name() string
	// Target is the address (host:port) the load is sent to: the
	// Service.
	Target() string
	// Start creates one replica of revision rev and returns its name at
	// once; it becomes ready (State) later.
	Start(ctx context.Context, rev int) (string, error)
	// Delete starts the termination of the named replica and returns at
	// once. Deleting twice does nothing.
	Delete(name string) error
	// Replicas returns the state of every replica started so far, in
	// start order.
	Replicas() []State
	// Exited returns a channel closed when the named replica has exited
	// (nil when there is no such replica).
	Exited(name string) <-chan struct{}
	// Endpoints returns the endpoints one balancer node (0 ≤ node <
	// Nodes) currently routes to.
	Endpoints(node int) []Endpoint
	// Nodes is the number of balancer nodes (kube-proxies, ingress
	// controllers) with their own view.
	Nodes() int
	// Record writes what the backend saw into tr: replica lifecycles,
	// connections and balancer views. Events are sent as they happen,
	// through the sink given to the backend's constructor.
	Record(tr *trace.Trace)
	// Close stops every replica still running (marking it stopped at
	// the end, not deleted), waits for them and releases everything.
	Close() error
}

// State is a replica's state now.
type State struct {
	Name     string
	Revision int
	// Ready: passing readiness and not terminating. Available: ready for
	// minReadySeconds.
	Ready, Available bool
	Terminating      bool
	Exited           bool
	// Unexpected: it exited before it was deleted.
	Unexpected bool
	// Output is the tail of its stdout and stderr.
	Output string
	// ExitText says how it exited ("exit code 2", "killed by SIGKILL").
	ExitText string
}

// Endpoint is one replica as a balancer node sees it.
type Endpoint struct {
	Replica     string
	Addr        string
	Ready       bool
	Serving     bool
	Terminating bool
}

// EventSink receives events as they happen.
type EventSink func(trace.Event)
