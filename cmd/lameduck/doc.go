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
//	lameduck demo [--naive | --variant shutdown] [--delay D]
//	lameduck report [--html FILE] [--junit FILE] [--markdown FILE] RESULT.json
//
// # drill
//
// With no COMMAND, drill runs the built-in demo twice — the naive counter
// service and the lameduck one — through the same rolling update under the
// same constant load, and prints a side-by-side verdict. It needs nothing
// installed: without --redis it starts an embedded Redis-protocol store.
// With a COMMAND, each replica is a process of COMMAND with PORT,
// ADMIN_PORT, REDIS_ADDR (and LEDGER_KEY with --ledger redis:KEY) in its
// environment. Arguments are not expanded: a command that takes its port
// as an argument runs through `sh -c 'exec server -p "$PORT"'`.
// `drill --` with nothing after it is an error.
//
// Replicas sit behind an L4 balancer that behaves like kube-proxy: new
// connections go to a random ready endpoint, established connections stay
// where they are, endpoint changes arrive after a propagation lag, and a
// connection to a replica that no longer listens is refused or reset. Pods
// are terminated as the kubelet does: endpoint removal and preStop start
// together, the stop signal follows preStop, SIGKILL comes
// max(grace − preStop, 2s) after it. The readiness probe defaults to
// "auto": lameduck's admin /readyz when the service answers it, else a TCP
// probe on PORT (said in the report's header).
//
// Every request carries a unique X-Request-Id. With --ledger the service's
// committed ids are reconciled with what the clients were told: lost,
// duplicated, committed although the client saw a failure, in flight at
// the end. --expect-counter is the weak form (a net count). A run FAILS
// when any request failed, a deleted replica was SIGKILLed, or a write was
// lost or duplicated; a pass without a store checked says "writes not
// verified". Every value is range-checked before anything runs; durations
// also take plain seconds; --json - writes the versioned JSON document
// (results, verdicts and traces) to stdout. See docs/drill.md.
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
// increments the Redis key "counter" (with the request id in the LEDGER_KEY
// hash, in one MULTI/EXEC) after --delay, in a goroutine (--naive, with no
// signal handling) or as lameduck-tracked work; --variant shutdown writes
// before answering and stops with http.Server.Shutdown.
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
//	0  success: the drill passed (nothing failed, lost or SIGKILLed), no findings at or above
//	   --fail-on (lint), the hook did its work (prestop)
//	1  the drill saw failures or losses; lint found problems; a hook failed
//	2  usage or setup error: bad flags, command not found, port taken,
//	   store unreachable, unreadable manifest
//	130  interrupted (Ctrl-C); replicas and the store are cleaned up
package main
