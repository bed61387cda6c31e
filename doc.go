// Package lameduck puts a Go service through a named, time-budgeted
// shutdown with one call, so that stopping it — a rolling update, a
// scale-down, a node drain — loses no request and no acknowledged work.
//
//	app := lameduck.New(lameduck.Options{})   // LAMEDUCK_* variables override
//	app.Close("redis", rdb.Close)              // closed after the servers drained
//	app.Serve(&http.Server{Addr: ":8080", Handler: mux})
//	app.Admin(":8081")                         // /livez /readyz /phase /drain
//	os.Exit(app.Run())                         // blocks until stopped
//
// The package imports only the standard library.
//
// # Phases
//
// An App moves forward through Starting, Serving, Draining, Stopping,
// Flushing, Closing and Stopped. Each phase is observable (App.Phase,
// <-App.Entered(p), the /phase endpoint, one log record per change) and
// ends as soon as its work is done; only the drain delay waits on purpose.
//
//   - Starting: listeners open; /readyz answers 503 until every ReadyCheck
//     passes.
//   - Serving: /readyz 200. It ends with a stop signal (SIGTERM, SIGINT),
//     a /drain request (a preStop hook), Shutdown, Fatal, a failed server
//     or worker, or a panicking task.
//   - Draining (the lame duck): /readyz 503 from the first instant;
//     listeners still accept and serve, because load balancers have not
//     caught up yet; every response carries "Connection: close", and every
//     HTTP/2 connection (TLS or h2c) is sent a graceful GOAWAY, so clients
//     reconnect — through the balancer, to another replica.
//   - Stopping: listeners close (connections the kernel had already
//     established, waiting in the listen queue, are accepted first rather
//     than reset) and so do idle HTTP/1 keep-alive connections; a request
//     that still arrives on an open connection (or was half received) gets
//     503 with Retry-After and "Connection: close"; worker
//     contexts are cancelled; in-flight requests, tasks (Go), holds (Hold),
//     adopted connections (Adopt) and workers run to completion, then
//     HTTP/2 connections are given ConnGrace to close after their GOAWAY.
//     If the phase's budget runs out, request and task contexts are
//     cancelled with ErrDeadline, what still runs is logged by kind, name,
//     age and peer ("lameduck: still running"), counted as cut off, and
//     connections are force-closed.
//   - Flushing: Flush hooks run concurrently (last metrics, traces, logs).
//   - Closing: Close hooks run one at a time in reverse order of
//     registration.
//   - Stopped: one summary record ("lameduck: stopped"), the termination
//     message (see Options.TerminationLog), and Run returns the exit code.
//
// # Timeline
//
// A shutdown started by SIGTERM at T0, with the defaults in Kubernetes
// (grace period 30s, kill margin 2s, drain delay 5s, flush 2s, close 3s):
//
//	T0        Draining: /readyz 503; servers keep serving; responses carry
//	          "Connection: close"; HTTP/2 connections get GOAWAY (NO_ERROR).
//	T0+5s     Stopping: listeners and idle connections close; late requests
//	          get 503 + Retry-After: 1; workers' contexts are cancelled.
//	≤T0+23s   Stopping's budget is spent (28s − 5s − 2s − 3s = 18s of it):
//	          contexts cancelled, what still runs named, connections closed.
//	≤T0+25s   Flushing done (≤ 2s).
//	≤T0+28s   Closing done (≤ 3s); Stopped: Run returns.
//	T0+30s    SIGKILL would have come.
//
// A shutdown started by /drain (a preStop hook) counts from the hook, since
// Kubernetes counts the grace period from the start of preStop.
//
// # The budget
//
// The whole sequence must fit the grace period the process gets before
// SIGKILL:
//
//	budget = GracePeriod − PreStop − KillMargin   (started by a signal)
//	budget = GracePeriod − KillMargin             (started by /drain)
//	budget = drain delay + stop + flush + close
//
// and the rule lameduck states the same way everywhere (docs, lint, drill):
//
//	LB deregistration < preStop (+ drain delay) < application shutdown < terminationGracePeriodSeconds
//
// Options.Budget computes the split; Run logs a warning when the configured
// phases do not fit. With Options.GracePeriodFromAPI the grace period is
// read at shutdown from the pod's metadata.deletionGracePeriodSeconds
// (evictions and node shutdowns shorten it).
//
// # Signals
//
// Run installs its signal handler (Options.Signals) when it starts and
// removes it before it returns — except after a shutdown started by /drain,
// where it leaves the stop signals ignored, so that the kubelet's SIGTERM,
// sent when the hook returns, cannot kill the process between Run's return
// and os.Exit. A second stop signal makes Run return 128+signal at once,
// naming what it cut off. The first signal after a shutdown started
// otherwise (Shutdown, Fatal, a failure, /drain) is not a second signal, and
// the same signal delivered again within SignalDebounce is the same
// delivery (supervisors signal both the process and its group).
//
// # Exit codes
//
// ExitOK (0) when everything drained, flushed and closed within the budget;
// ExitUnclean (1) when it did not, or after Fatal or a failure; ExitConfig
// (2) for invalid configuration or a start-up failure; 128+signal after a
// second signal.
//
// # Admin endpoints
//
// Admin serves /livez (200 until exit), /readyz, /phase (JSON, see
// PhaseStatus) and /drain on a port of their own. /drain refuses to run on
// a connection of a server the App serves, accepts tokenless requests from
// loopback only, and answers 200 only when nothing was cut off (see
// DrainHandler).
//
// # What it does not do
//
// Graceful shutdown is a courtesy, not a guarantee: a process can always be
// killed. lameduck does not supervise processes or upgrade a binary in
// place by itself; on Kubernetes, replicas are replaced, not re-executed.
package lameduck
