// Package prestop implements the actions of "lameduck prestop", a Kubernetes
// preStop hook that needs no shell, so it works in distroless and scratch
// images:
//
//   - Sleep waits a fixed time, giving load balancers time to stop sending
//     new requests before the stop signal arrives.
//   - Drain asks a lameduck service's admin server to start draining
//     (GET /drain) and returns once the service reports that nothing is in
//     flight, or at a timeout.
//   - Signal sends a graceful-stop signal to a process (QUIT for Unicorn or
//     nginx) and waits until the process and its descendants are gone, or
//     until a timeout.
//
// Kubernetes counts terminationGracePeriodSeconds from the start of the
// preStop hook and sends the stop signal only when the hook returns, so every
// action is bounded by a timeout well inside the grace period. Each action
// logs what it did through a Logf function (stderr in the CLI), so a failing
// hook explains itself in the pod's events (kubectl describe pod).
//
// The Command type is the parsed form of the command line; "lameduck lint"
// uses ParseArgs to read a manifest's preStop hook with exactly the flags the
// hook itself accepts.
package prestop
