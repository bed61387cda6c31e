// Command lameduck proves and configures graceful shutdown for services on
// Kubernetes.
//
// Usage:
//
//	lameduck drill [flags] [-- COMMAND [ARGS...]]
//	lameduck lint [flags] FILE|DIR|-...
//	lameduck prestop sleep DURATION
//	lameduck prestop drain [--admin URL] [--timeout D] [--token T]
//	lameduck prestop signal [--pid N] [--signal SIG] [--wait] [--timeout D]
//	lameduck demo [--naive] [--delay D]
//	lameduck report [--html FILE] [--junit FILE] [--markdown FILE] RESULT.json
//
// # drill
//
// With no COMMAND, drill runs the built-in demo twice — the naive counter
// service and the lameduck one — through the same rolling update under the
// same constant load, and prints a side-by-side verdict. It needs nothing
// installed: without --redis it starts an embedded Redis-protocol store.
// With a COMMAND, each replica is a process of COMMAND with PORT (and
// REDIS_ADDR when the drill provides the store) in its environment.
//
// Replicas sit behind an L4 balancer that behaves like kube-proxy: new
// connections go to a random ready endpoint, established connections stay
// where they are, endpoint changes arrive after a propagation lag, and a
// connection to a replica that no longer listens is refused or reset. Pods
// are terminated as the kubelet does: endpoint removal and preStop start
// together, the stop signal follows preStop, SIGKILL comes at the grace
// period counted from the start of preStop. Every failed request and every
// acknowledged write missing from the store is counted and attributed to a
// cause, with advice. See docs/drill.md for flags, output and the JSON schema
// of --json.
//
// # lint
//
// lint decodes multi-document YAML with the Kubernetes API types, computes
// each container's termination budget
//
//	LB deregistration delay < preStop (+ drain delay) < application shutdown < terminationGracePeriodSeconds
//
// and reports rule violations as "file:line:col: [severity] id: message";
// --format json and --format sarif are for CI; --explain ID explains a rule.
// See docs/kubernetes.md.
//
// # prestop
//
// prestop is a preStop hook for images without a shell: sleep, ask a
// lameduck service to drain (GET /drain on its admin server, returning when
// nothing is in flight), or send a signal and wait for the process and its
// children to exit. It logs what it did to stderr.
//
// # demo
//
// demo runs the counter service of the drill: POST /incr answers 200 and
// increments the Redis key "counter" after --delay, in a goroutine (--naive,
// with no signal handling) or as lameduck-tracked work.
//
// # report
//
// report renders a document saved by drill --json as one self-contained
// HTML timeline (lanes per replica with requests, lifecycle and failure
// marks with hover details; balancer nodes' endpoint-removal lag; rollout
// steps), JUnit XML (a test suite per run, a test case per rollout) or a
// Markdown summary for $GITHUB_STEP_SUMMARY. drill takes the same --html,
// --junit and --markdown flags. See docs/report.md.
//
// # Exit codes
//
//	0  success: nothing failed or was lost (drill), no findings at or above
//	   --fail-on (lint), the hook did its work (prestop)
//	1  the drill saw failures or losses; lint found problems; a hook failed
//	2  usage or setup error: bad flags, command not found, port taken,
//	   store unreachable, unreadable manifest
//	130  interrupted (Ctrl-C); replicas and the store are cleaned up
package main
