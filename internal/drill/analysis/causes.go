package analysis

import (
	"fmt"
	"time"
)

// Cause keys (see docs/drill.md "Attribution").
const (
	CauseBalancerLag    = "listener-closed-before-balancer-caught-up"
	CauseNoEndpoint     = "no-endpoint"
	CauseGraceKill      = "killed-at-grace-deadline"
	CausePinnedCut      = "pinned-connection-cut-at-exit"
	CauseInFlightExit   = "in-flight-at-exit"
	CauseKeepAliveRace  = "keep-alive-closed-under-request"
	Cause5xxTerminating = "5xx-while-terminating"
	CauseRPCRefused     = "rpc-refused-while-stopping"
	CauseCrashed        = "replica-crashed"
	CauseTimeout        = "timeout"
	CauseOther          = "other"
	// CausePodUnknown: on a real cluster (drill --kube), a request whose
	// new connection failed before any answer: kube-proxy's DNAT hides
	// which pod it went to.
	CausePodUnknown      = "new-connection-failed-pod-unknown"
	CauseLostAtExit      = "acknowledged-write-lost-at-exit"
	CauseLost            = "acknowledged-write-lost"
	CauseDuplicated      = "write-duplicated"
	CausePhantom         = "write-committed-but-failed"
	CauseCounterShort    = "counter-short"
	CauseCounterOver     = "counter-over"
	CauseSignalIgnored   = "stop-signal-ignored"
	CauseShutdownTooSlow = "shutdown-outlasted-grace"
	CauseNonZeroExit     = "non-zero-exit"
	CauseReadinessStayed = "readiness-stayed-2xx"
)

// Measures are the numbers the advice is computed from, all measured in
// the run (or taken from its settings).
type Measures struct {
	// Lag is the propagation lag to cover: the longest observed, at least
	// the profile's maximum.
	Lag time.Duration
	// KeptServing is how long the deleted replicas still accepted
	// connections after their stop signal (the least among them).
	KeptServing time.Duration
	// StopTook is the longest signal-to-exit among replicas that exited
	// on their own.
	StopTook time.Duration
	// LongestOK is the longest successful request; Longest the longest
	// finished one, failed or not.
	LongestOK time.Duration
	Longest   time.Duration
	PreStop   time.Duration
	Grace     time.Duration
	Signal    string
	Lameduck  bool
	// Timeout is the request timeout: with --retry, the whole request's
	// budget. GaveUpBudget counts the requests whose retries stopped
	// because that budget ran out (RetryReport.GaveUp[trace.GaveUpBudget]).
	Timeout      time.Duration
	GaveUpBudget int64
}

// PreStopNeed is the preStop sleep that covers the lag, given what the
// service already serves after its stop signal, rounded up to 500ms.
func (m Measures) PreStopNeed() time.Duration {
	need := roundUp(m.Lag+500*time.Millisecond-m.KeptServing, 500*time.Millisecond)
	return max(need, m.PreStop+500*time.Millisecond, 500*time.Millisecond)
}

// GraceNeed is the grace period that covers the preStop sleep, the
// service's own shutdown and the longest request, plus 2s of margin.
func (m Measures) GraceNeed(prestop time.Duration) time.Duration {
	return max(roundUp(prestop+max(m.StopTook, m.LongestOK)+2*time.Second, time.Second), m.Grace)
}

func roundUp(d, to time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + to - 1) / to * to
}

// CauseDef is one row of the causes table.
type CauseDef struct {
	Key string
	// Fails: requests or writes attributed to it make the run fail (some
	// causes are notes: a readiness probe that stayed 2xx fails nothing
	// by itself).
	Fails       bool
	Explanation string
	// Advice is computed from the run's measures; nil when there is no
	// general advice.
	Advice func(Measures) []Advice
}

func prestopAdvice(key string, m Measures) []Advice {
	p := m.PreStopNeed()
	g := m.GraceNeed(p)
	served := ""
	if m.KeptServing >= 100*time.Millisecond {
		served = fmt.Sprintf(" (it already keeps serving %s after the signal)", m.KeptServing.Round(10*time.Millisecond))
	}
	out := []Advice{{Cause: key, Kind: AdviceKubernetes,
		Text: fmt.Sprintf("add a preStop sleep of %s: the balancers need up to %s to stop routing to a deleted pod%s; terminationGracePeriodSeconds %s",
			p, m.Lag.Round(10*time.Millisecond), served, g),
		Flags: []string{"--prestop-sleep", p.String(), "--grace", g.String()}}}
	if m.Lameduck {
		d := roundUp(m.Lag+500*time.Millisecond, 500*time.Millisecond)
		out = append(out, Advice{Cause: key, Kind: AdviceLameduck,
			Text:  fmt.Sprintf("or, the lameduck way, without a preStop hook: LAMEDUCK_DRAIN_DELAY=%s (the service keeps serving that long after the signal, /readyz failing)", d),
			Flags: []string{"--env", "LAMEDUCK_DRAIN_DELAY=" + d.String(), "--grace", m.GraceNeed(d).String()}})
	}
	return out
}

// Causes is the table of causes, in report order.
var Causes = []CauseDef{
	{Key: CauseBalancerLag, Fails: true,
		Explanation: "requests reached a replica after its listener closed but before the balancer stopped routing to it",
		Advice:      func(m Measures) []Advice { return prestopAdvice(CauseBalancerLag, m) }},
	{Key: CauseNoEndpoint, Fails: true,
		Explanation: "no endpoint was ready: the rollout (or a kill) left the Service without a ready replica, and the balancer refused or dropped new connections or sent them to a terminating one (kube-proxy's fallback); on a cluster kube-proxy REJECTs them, but the kernel sends at most one ICMP error a second per client after a burst of six, so most of those dials hang until the client's timeout instead of being refused",
		Advice: func(Measures) []Advice {
			return []Advice{
				{Cause: CauseNoEndpoint, Kind: AdviceKubernetes, Text: "keep a ready replica at all times: lower maxUnavailable, spread replicas over nodes, make new replicas ready faster; check the readiness probe"},
				{Cause: CauseNoEndpoint, Kind: AdviceService, Text: "give clients a connect timeout well below the request deadline (net.Dialer Timeout) and retry refused or timed-out dials, which sent nothing (the retry package does; the drill's --retry)", Flags: []string{"--retry"}},
			}
		}},
	{Key: CauseGraceKill, Fails: true,
		Explanation: "requests were in flight when the replica was SIGKILLed at the grace deadline"},
	{Key: CausePinnedCut, Fails: true,
		Explanation: "a keep-alive connection stayed pinned to the dying replica (conntrack keeps it) and was cut when the process exited under a request",
		Advice: func(m Measures) []Advice {
			out := []Advice{{Cause: CausePinnedCut, Kind: AdviceService, Text: "on the stop signal, stop accepting and wait for in-flight requests (http.Server.Shutdown), and answer with \"Connection: close\" while draining so keep-alive clients move"}}
			if m.Lameduck {
				out = append(out, Advice{Cause: CausePinnedCut, Kind: AdviceLameduck, Text: "lameduck answers \"Connection: close\" while draining and closes idle connections: check the service's handlers are behind app.Serve"})
			}
			return out
		}},
	{Key: CauseInFlightExit, Fails: true,
		Explanation: "requests were in flight when the replica exited on its own: it stopped without waiting for them",
		Advice: func(m Measures) []Advice {
			return []Advice{{Cause: CauseInFlightExit, Kind: AdviceService, Text: fmt.Sprintf(
				"on the stop signal, stop accepting, then wait for in-flight requests before exiting, for longer than the longest request (%s here); a service that already does (see its log line above) has a shutdown timeout that is too short",
				m.Longest.Round(time.Millisecond))}}
		}},
	{Key: CauseKeepAliveRace, Fails: true,
		Explanation: "the server closed an idle keep-alive connection just as the client sent a request on it",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CauseKeepAliveRace, Kind: AdviceService, Text: "while draining, answer with \"Connection: close\" rather than closing idle connections under clients; clients may retry idempotent requests"}}
		}},
	{Key: Cause5xxTerminating, Fails: true,
		Explanation: "a terminating replica answered 5xx while traffic still reached it",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: Cause5xxTerminating, Kind: AdviceService, Text: "keep serving normally until the balancers have caught up: fail readiness, not requests"}}
		}},
	{Key: CauseRPCRefused, Fails: true,
		Explanation: "a stopping replica answered UNAVAILABLE to RPCs that reached it on a connection kept open through the drain",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CauseRPCRefused, Kind: AdviceService, Text: "retry UNAVAILABLE in gRPC clients (a retryPolicy in the service config; the drill's --grpc-retry)", Flags: []string{"--grpc-retry"}}}
		}},
	{Key: CauseCrashed, Fails: true,
		Explanation: "a replica exited without being deleted",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CauseCrashed, Kind: AdviceService, Text: "read the replica's output (below, or output_tail in --json) for the crash"}}
		}},
	{Key: CauseTimeout, Fails: true, Explanation: "no answer within the request timeout"},
	{Key: CauseOther, Fails: true, Explanation: "failures the drill could not tie to a termination event (see the failures in --json)"},
	{Key: CausePodUnknown, Fails: true,
		Explanation: "on a real cluster the client sees only the Service's ClusterIP: these requests failed on a new connection before any answer named a pod, so no replica can be blamed; during a rollout they are most often connections kube-proxy still sent to a pod whose listener had closed (as listener-closed-before-balancer-caught-up), and under --chaos connections sent to a SIGKILLed pod's address before its endpoint left (as routed-to-killed-replica)",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CausePodUnknown, Kind: AdviceService, Text: "retry a request whose new connection was refused: nothing reached the service, so it is always safe (the retry package does; the drill's --retry)", Flags: []string{"--retry"}}}
		}},
	{Key: CauseLostAtExit, Fails: true,
		Explanation: "acknowledged writes never reached the store: the replica that answered 2xx stopped before committing them",
		Advice: func(m Measures) []Advice {
			out := []Advice{{Cause: CauseLostAtExit, Kind: AdviceService, Text: "commit before answering, or track background work and let shutdown wait for it within the grace period"}}
			if m.Lameduck {
				out = append(out, Advice{Cause: CauseLostAtExit, Kind: AdviceLameduck, Text: "run the background work with app.Go: shutdown waits for it"})
			}
			return out
		}},
	{Key: CauseLost, Fails: true,
		Explanation: "acknowledged writes never reached the store, although the replica that answered did not stop: the service dropped them",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CauseLost, Kind: AdviceService, Text: "the service acknowledges writes it does not commit: look at its error handling around the store"}}
		}},
	{Key: CauseDuplicated, Fails: true,
		Explanation: "writes were committed more than once for one request",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CauseDuplicated, Kind: AdviceService, Text: "make the write idempotent: commit it keyed by the request id (X-Request-Id), so a retry or a repeat does not count twice"}}
		}},
	{Key: CausePhantom, Fails: false,
		Explanation: "writes were committed although the client saw the request fail (a retry would commit them twice)",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CausePhantom, Kind: AdviceService, Text: "make the write idempotent by request id, so that clients can retry failed requests safely"}}
		}},
	{Key: CauseCounterShort, Fails: true,
		Explanation: "the counter grew by less than the number of acknowledged requests (a net count: it cannot tell which requests were lost, and duplicates hide losses)"},
	{Key: CauseCounterOver, Fails: true,
		Explanation: "the counter grew by more than the number of acknowledged requests (some requests were counted though the client saw them fail, or counted twice)"},
	{Key: CauseSignalIgnored, Fails: true,
		Explanation: "a deleted replica did not react to its stop signal and died only on SIGKILL at the grace deadline: the signal was ignored or not forwarded (e.g. a shell as PID 1)",
		Advice: func(m Measures) []Advice {
			return []Advice{{Cause: CauseSignalIgnored, Kind: AdviceKubernetes, Text: "make the process get and handle " + m.Signal + ": the exec form of the command (no shell wrapper), a signal handler, or the stop signal the server stops on (--stop-signal; STOPSIGNAL in the image)"}}
		}},
	{Key: CauseShutdownTooSlow, Fails: true,
		Explanation: "a deleted replica began to stop on its signal but was still running at the grace deadline and was SIGKILLed",
		Advice: func(m Measures) []Advice {
			g := m.GraceNeed(m.PreStop)
			return []Advice{{Cause: CauseShutdownTooSlow, Kind: AdviceKubernetes,
				Text:  fmt.Sprintf("give shutdown more time: terminationGracePeriodSeconds %s (preStop %s + the longest request %s + 2s), or bound the service's own shutdown below the grace period", g, m.PreStop, m.LongestOK.Round(time.Millisecond)),
				Flags: []string{"--grace", g.String()}}}
		}},
	{Key: CauseNonZeroExit, Fails: false,
		Explanation: "a deleted replica exited on its own with a non-zero code: its own shutdown reported a problem (see its output)"},
	{Key: CauseReadinessStayed, Fails: false,
		Explanation: "readiness stayed 2xx after the stop signal while the replica still answered: the probe never said not-ready",
		Advice: func(Measures) []Advice {
			return []Advice{{Cause: CauseReadinessStayed, Kind: AdviceService, Text: "fail the readiness probe from the first instant of shutdown (set the status before writing the body)"}}
		}},
}

// The --chaos and --retry rows (chaos.go), last in report order.
func init() { Causes = append(Causes, chaosCauses...) }

// CauseByKey returns the row of key.
func CauseByKey(key string) (CauseDef, bool) {
	for _, c := range Causes {
		if c.Key == key {
			return c, true
		}
	}
	return CauseDef{}, false
}
