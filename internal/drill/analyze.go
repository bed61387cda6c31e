package drill

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/balancer"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
	"github.com/lameduck-dev/lameduck/internal/drill/rollout"
	"google.golang.org/grpc/codes"
)

// Cause keys (see docs/drill.md "Attribution").
const (
	CauseBalancerLag   = "listener-closed-before-balancer-caught-up"
	CauseNoEndpoint    = "no-endpoint"
	CauseGraceKill     = "killed-at-grace-deadline"
	CausePinnedCut     = "pinned-connection-cut-at-exit"
	CauseInFlightExit  = "in-flight-at-exit"
	CauseKeepAliveRace = "keep-alive-closed-under-request"
	Cause5xxDraining   = "5xx-while-terminating"
	CauseCrashed       = "replica-crashed"
	CauseTimeout       = "timeout"
	CauseOther         = "other"
	CauseLostAcks      = "acknowledged-work-lost"
	CauseDuplicated    = "counted-more-than-acked"
	CauseSIGKILLOnly   = "stop-signal-ignored"
	CauseReadiness     = "readiness-stayed-2xx"
	CauseRPCRefused    = "rpc-refused-while-stopping"
)

// classify names the failure class of one request.
func classify(q request, rec *balancer.ConnRecord) string {
	if q.Err == "" {
		switch {
		case q.Code >= 200 && q.Code < 300:
			return ""
		case q.Code >= 500 && q.Code < 600:
			return Class5xx
		default:
			return ClassOther
		}
	}
	if q.GRPC {
		switch q.Status {
		case codes.DeadlineExceeded:
			return ClassTimeout
		case codes.Unavailable:
			// The transport failed (or the server refused the call): tell
			// refused, reset and EOF apart as for HTTP, below.
		default:
			return ClassOther
		}
	}
	if rec != nil && (rec.Outcome == balancer.OutcomeRefused || rec.Outcome == balancer.OutcomeNoEndpoint) {
		return ClassRefused
	}
	var errno syscall.Errno
	if q.errv != nil && errors.As(q.errv, &errno) {
		switch errno {
		case syscall.ECONNREFUSED:
			return ClassRefused
		case syscall.ECONNRESET, syscall.EPIPE:
			return ClassReset
		}
	}
	msg := strings.ToLower(q.Err)
	switch {
	case strings.Contains(msg, "connection refused"):
		return ClassRefused
	case strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded"):
		return ClassTimeout
	case strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe"):
		return ClassReset
	case errors.Is(q.errv, io.EOF) || errors.Is(q.errv, io.ErrUnexpectedEOF) ||
		strings.Contains(msg, "eof") || strings.Contains(msg, "server closed idle connection"):
		return ClassEOF
	}
	return ClassOther
}

// connIndex finds the balancer connection that carried a request.
type connIndex struct {
	byClient map[string][]*balancer.ConnRecord
	orphans  []*balancer.ConnRecord // client resets whose address no request saw
	used     map[*balancer.ConnRecord]bool
}

func newConnIndex(conns []balancer.ConnRecord, reqs []request) *connIndex {
	ix := &connIndex{byClient: map[string][]*balancer.ConnRecord{}, used: map[*balancer.ConnRecord]bool{}}
	seen := map[string]bool{}
	for _, q := range reqs {
		if q.Local != "" {
			seen[q.Local] = true
		}
	}
	for i := range conns {
		c := &conns[i]
		ix.byClient[c.Client] = append(ix.byClient[c.Client], c)
		if c.Outcome != balancer.OutcomeForwarded && !seen[c.Client] {
			ix.orphans = append(ix.orphans, c)
		}
	}
	return ix
}

// lookup returns the connection record for q: by the client address when
// the request got a connection, else (the connect itself was reset) the
// nearest unclaimed reset connection in time.
func (ix *connIndex) lookup(q request) *balancer.ConnRecord {
	end := q.Start.Add(q.Latency)
	if q.Local != "" {
		var best *balancer.ConnRecord
		for _, c := range ix.byClient[q.Local] {
			if !c.Accepted.After(end) {
				best = c // accept order: the latest accepted before the end
			}
		}
		return best
	}
	if !q.DialFail {
		return nil
	}
	var best *balancer.ConnRecord
	bestD := time.Duration(math.MaxInt64)
	for _, c := range ix.orphans {
		if ix.used[c] {
			continue
		}
		d := c.Accepted.Sub(q.Start)
		if d < -50*time.Millisecond || c.Accepted.After(end.Add(50*time.Millisecond)) {
			continue
		}
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best != nil {
		ix.used[best] = true
	}
	return best
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// momentOf describes when t happened relative to the rollouts.
func momentOf(t time.Duration, steps []Step, rollouts []RolloutReport) string {
	var last *Step
	for i := range steps {
		if steps[i].At <= t {
			last = &steps[i]
		}
	}
	if last == nil {
		return "before the first rollout"
	}
	for _, ro := range rollouts {
		if ro.Index == last.Rollout && ro.Completed > 0 && t > ro.Completed {
			return fmt.Sprintf("after rollout %d (%.1fs after it completed)", ro.Index, (t - ro.Completed).Seconds())
		}
	}
	return fmt.Sprintf("rollout %d step %d (%s %s, +%.1fs)", last.Rollout, last.Index, last.Action, last.Replica, (t - last.At).Seconds())
}

const exitWindow = 500 * time.Millisecond

// attribute names the cause of one failure.
func attribute(f *Failure, lc *pod.Lifecycle, rec *balancer.ConnRecord, epoch time.Time) string {
	end := f.At + f.Latency
	near := func(a, b time.Duration) bool { d := a - b; return d > -exitWindow && d < exitWindow }
	switch f.Class {
	case ClassRefused:
		if rec != nil && rec.Outcome == balancer.OutcomeNoEndpoint {
			return CauseNoEndpoint
		}
		if lc != nil && lc.Terminating > 0 && end >= lc.Terminating {
			return CauseBalancerLag
		}
		if lc != nil && lc.Unexpected && lc.Exited > 0 && end >= lc.Exited {
			return CauseCrashed
		}
		return CauseOther
	case ClassReset, ClassEOF, ClassTimeout:
		if lc == nil {
			if f.Class == ClassTimeout {
				return CauseTimeout
			}
			return CauseOther
		}
		cut := end
		if rec != nil && !rec.BackendClosed.IsZero() {
			cut = rec.BackendClosed.Sub(epoch)
		}
		if lc.Killed > 0 && f.At <= lc.Killed+exitWindow && (near(cut, lc.Killed) || end >= lc.Killed) {
			return CauseGraceKill
		}
		if lc.Exited > 0 && near(cut, lc.Exited) {
			switch {
			case lc.Unexpected:
				return CauseCrashed
			case f.Reused && lc.ExitSignal == "" && rec != nil && rec.BackendClose == balancer.CloseFIN:
				// The process closed the idle connection itself on its
				// way out, as the client sent on it.
				return CauseKeepAliveRace
			case f.Reused:
				return CausePinnedCut
			default:
				return CauseInFlightExit
			}
		}
		if f.Reused && rec != nil && rec.BackendClose != "" && f.Class != ClassTimeout {
			return CauseKeepAliveRace
		}
		if f.Class == ClassTimeout {
			return CauseTimeout
		}
		return CauseOther
	case Class5xx:
		if lc != nil && lc.Terminating > 0 && end >= lc.Terminating {
			return Cause5xxDraining
		}
		return CauseOther
	case ClassOther:
		// UNAVAILABLE from the service itself (not the transport) after
		// the replica was deleted: it refused the RPC as it stopped.
		if f.GRPCCode == codes.Unavailable.String() && lc != nil && lc.Terminating > 0 && end >= lc.Terminating {
			return CauseRPCRefused
		}
	}
	return CauseOther
}

// readinessVerdict says whether readiness went non-2xx after the stop signal.
func readinessVerdict(lc pod.Lifecycle, probe pod.Probe) string {
	if lc.Terminating == 0 || lc.SignalSent == 0 || probe.Kind == "tcp" {
		return ""
	}
	answered, unready := 0, 0
	for _, pr := range lc.TermProbes {
		if pr.At < lc.SignalSent+200*time.Millisecond || pr.Status == 0 {
			continue
		}
		answered++
		if pr.Status < 200 || pr.Status >= 300 {
			unready++
		}
	}
	switch {
	case unready > 0:
		return "went-unready"
	case answered > 0:
		return "stayed-ready"
	default:
		return "no-answer"
	}
}

func roundUp(d, to time.Duration) time.Duration {
	return (d + to - 1) / to * to
}

// analyze turns the raw records into a Result.
func (r *runner) analyze(reqs []request, loadStart, loadEnd time.Duration, ver *Verification, runErr error) *Result {
	cfg := r.cfg
	r.mu.Lock()
	steps := slices.Clone(r.steps)
	rollouts := slices.Clone(r.rollouts)
	events := slices.Clone(r.events)
	r.mu.Unlock()
	surge, unavail, _ := rollout.Fenceposts(cfg.Replicas, cfg.MaxSurge, cfg.MaxUnavailable)
	res := &Result{
		Name:         cfg.Name,
		Duration:     r.since(),
		Verification: ver,
		Rollouts:     rollouts,
		Steps:        steps,
		Views:        r.bal.Events(),
		Failures:     []Failure{},
		Causes:       []Cause{},
		Advice:       []string{},
	}
	if runErr != nil {
		res.RolloutError = runErr.Error()
	}
	prestop := ""
	switch {
	case cfg.PreStopCommand != "":
		prestop = "sh -c " + fmt.Sprintf("%q", cfg.PreStopCommand)
	case cfg.PreStopSleep > 0:
		prestop = "sleep " + cfg.PreStopSleep.String()
	}
	res.Settings = Settings{
		Command: cfg.Command, Replicas: cfg.Replicas, MaxSurge: string(cfg.MaxSurge), MaxUnavailable: string(cfg.MaxUnavailable),
		Surge: surge, Unavailable: unavail, Rollouts: cfg.Rollouts, Readiness: cfg.Readiness.String(), ProbePeriod: cfg.Readiness.Period,
		MinReady: cfg.MinReady, Grace: cfg.Grace, PreStop: prestop, StopSignal: pod.SignalName(cfg.StopSignal),
		Profile: cfg.Profile.Name, LagMin: cfg.Profile.Min, LagMax: cfg.Profile.Max, Nodes: cfg.Nodes, Seed: cfg.Seed,
		Env: cfg.Env, Notes: cfg.Notes,
	}

	// Replicas.
	lcs := map[string]*pod.Lifecycle{}
	repIdx := map[string]int{}
	for _, p := range r.allPods() {
		lc := p.Lifecycle()
		res.Replicas = append(res.Replicas, Replica{Lifecycle: lc, Readiness: readinessVerdict(lc, cfg.Readiness)})
		repIdx[lc.Name] = len(res.Replicas) - 1
	}
	for i := range res.Replicas {
		lcs[res.Replicas[i].Name] = &res.Replicas[i].Lifecycle
	}

	// Requests.
	ix := newConnIndex(r.bal.Conns(), reqs)
	lat := make([]time.Duration, 0, len(reqs))
	method := cfg.Method
	if cfg.Protocol == ProtocolGRPC {
		method = "gRPC"
		if cfg.GRPCRetry {
			method = "gRPC (client retries UNAVAILABLE)"
		}
	}
	lr := LoadReport{Method: method, Path: cfg.Path, RequestedRate: cfg.Rate, ByClass: map[string]int{}}
	var first, last time.Time
	var longestOK time.Duration
	for _, q := range reqs {
		lr.Sent++
		lat = append(lat, q.Latency)
		if first.IsZero() || q.Start.Before(first) {
			first = q.Start
		}
		if q.Start.After(last) {
			last = q.Start
		}
		rec := ix.lookup(q)
		class := classify(q, rec)
		replica := ""
		node := -1
		if rec != nil {
			replica, node = rec.Backend, rec.Node
		}
		if class == "" {
			lr.Succeeded++
			longestOK = max(longestOK, q.Latency)
			if i, ok := repIdx[replica]; ok {
				res.Replicas[i].Served++
			}
			continue
		}
		lr.Failed++
		lr.ByClass[class]++
		f := Failure{Seq: q.Seq, ID: q.ID, At: q.Start.Sub(r.epoch), Latency: q.Latency, Class: class, Code: q.Code,
			GRPCCode: grpcCode(q), Error: q.Err, Replica: replica, Node: node, Reused: q.Reused}
		f.Moment = momentOf(f.At+f.Latency, steps, rollouts)
		f.Cause = attribute(&f, lcs[replica], rec, r.epoch)
		if i, ok := repIdx[replica]; ok {
			res.Replicas[i].Failed++
		}
		res.Failures = append(res.Failures, f)
	}
	sort.Slice(res.Failures, func(i, j int) bool { return res.Failures[i].At < res.Failures[j].At })
	slices.Sort(lat)
	lr.Latency = Latency{P50: percentile(lat, .50), P90: percentile(lat, .90), P99: percentile(lat, .99)}
	if len(lat) > 0 {
		lr.Latency.Max = lat[len(lat)-1]
	}
	lr.Duration = loadEnd - loadStart
	if span := last.Sub(first); span > 0 && lr.Sent > 1 {
		lr.AchievedRate = float64(lr.Sent-1) / span.Seconds()
	}
	res.Load = lr

	// Observed propagation lag of deletions.
	for _, v := range res.Views {
		if v.Endpoint.Terminating || v.Endpoint.Removed {
			res.MaxLag = max(res.MaxLag, v.Applied.Sub(v.Changed))
		}
	}

	sort.SliceStable(events, func(i, j int) bool { return events[i].At < events[j].At })
	res.Events = events

	r.attributeCauses(res, lcs, longestOK)
	return res
}

func (r *runner) attributeCauses(res *Result, lcs map[string]*pod.Lifecycle, longestOK time.Duration) {
	cfg := r.cfg
	counts := map[string]int64{}
	reps := map[string]map[string]bool{}
	add := func(key, replica string, n int64) {
		counts[key] += n
		if reps[key] == nil {
			reps[key] = map[string]bool{}
		}
		if replica != "" {
			reps[key][replica] = true
		}
	}
	for _, f := range res.Failures {
		add(f.Cause, f.Replica, 1)
	}
	if v := res.Verification; v != nil {
		if v.Lost > 0 {
			add(CauseLostAcks, "", v.Lost)
			for _, rp := range res.Replicas {
				if rp.Terminating > 0 && rp.Exited > 0 {
					reps[CauseLostAcks][rp.Name] = true
				}
			}
		}
		if v.Duplicated > 0 {
			add(CauseDuplicated, "", v.Duplicated)
		}
	}
	for _, rp := range res.Replicas {
		if rp.Killed > 0 && rp.Terminating > 0 {
			add(CauseSIGKILLOnly, rp.Name, 1)
		}
		if rp.Readiness == "stayed-ready" {
			add(CauseReadiness, rp.Name, 1)
		}
	}

	// Budget advice, from what was observed.
	lagNeed := roundUp(max(res.MaxLag, cfg.Profile.Max)+500*time.Millisecond, 500*time.Millisecond)
	var stopTook time.Duration // longest signal-to-exit among replicas that exited on their own
	for _, rp := range res.Replicas {
		if rp.SignalSent > 0 && rp.Exited > 0 && rp.Killed == 0 {
			stopTook = max(stopTook, rp.Exited-rp.SignalSent)
		}
	}
	prestop := cfg.PreStopSleep
	graceNeed := roundUp(prestop+lagNeed+longestOK+stopTook+2*time.Second, time.Second)

	text := map[string][2]string{
		CauseBalancerLag: {
			"requests reached a replica after its listener closed but before the balancer stopped routing to it (the slowest node took " + res.MaxLag.Round(10*time.Millisecond).String() + " to drop a deleted replica)",
			fmt.Sprintf("keep serving for at least the propagation lag after the stop signal: a drain delay (LAMEDUCK_DRAIN_DELAY=%s) or a preStop sleep of %s", lagNeed, lagNeed),
		},
		CauseNoEndpoint: {
			"no endpoint was ready or serving: the rollout left the Service empty",
			"lower maxUnavailable or make new replicas ready faster; check the readiness probe",
		},
		CauseGraceKill: {
			"requests were in flight when the replica was killed at the grace deadline (SIGKILL)",
			fmt.Sprintf("the grace period is too short for preStop + drain delay + the longest request: set terminationGracePeriodSeconds (and LAMEDUCK_GRACE_PERIOD) to at least %s", graceNeed),
		},
		CausePinnedCut: {
			"a keep-alive connection stayed pinned to the dying replica (conntrack keeps it) and was cut when the process exited under a request",
			"while draining, answer with \"Connection: close\" and close idle keep-alive connections before exiting (lameduck does both), and wait for in-flight requests",
		},
		CauseInFlightExit: {
			"requests were in flight when the replica exited on its own: it stopped without waiting for them",
			"on the stop signal, stop accepting, then wait for in-flight requests (http.Server.Shutdown, or lameduck) before exiting",
		},
		CauseKeepAliveRace: {
			"the server closed an idle keep-alive connection (for instance when it stopped) just as the client sent a request on it",
			"while draining, answer with \"Connection: close\" and close idle keep-alive connections early and gradually rather than all at once when stopping; clients may retry idempotent requests",
		},
		Cause5xxDraining: {
			"a terminating replica answered 5xx while traffic still reached it",
			"keep serving normally during the drain delay: fail readiness, not requests",
		},
		CauseRPCRefused: {
			"a stopping replica answered UNAVAILABLE to RPCs that reached it on a connection kept open through the drain (gRPC sends its GOAWAY only when Stopping begins, the moment the service stops taking work)",
			"retry UNAVAILABLE in gRPC clients (a retryPolicy in the service config; the drill's --grpc-retry): the retry goes to a new connection, to a ready replica",
		},
		CauseCrashed: {
			"a replica exited without being deleted",
			"read the replica's output in the report (or --json) for the crash",
		},
		CauseTimeout: {
			"no answer within the request timeout",
			"check for a stalled replica or raise --timeout",
		},
		CauseOther: {
			"failures the drill could not tie to a termination event",
			"see the failure list in --json for the errors",
		},
		CauseLostAcks: {
			"acknowledged work was lost at exit: the service answered 2xx, then exited before the work reached the store",
			"track background work and let shutdown wait for it (lameduck app.Go), within the grace period; or do the work before answering",
		},
		CauseDuplicated: {
			"the store counted more than was acknowledged: some requests were processed although the client saw them fail (or the store was written by someone else)",
			"make the work idempotent (an idempotency key per request) so that retries and cut responses do not count twice",
		},
		CauseSIGKILLOnly: {
			"a replica did not exit on the stop signal and died only on SIGKILL: the signal was ignored or not forwarded (e.g. a shell as PID 1)",
			"use the exec form (no shell wrapper) so the process gets the signal, handle " + pod.SignalName(cfg.StopSignal) + ", or set --stop-signal to the signal the server stops on",
		},
		CauseReadiness: {
			"readiness stayed 2xx after the stop signal while the replica still answered: the probe never said not-ready",
			"fail /readyz from the first instant of shutdown; set the status before writing the body (a body written first makes the status 200)",
		},
	}
	order := []string{CauseBalancerLag, CauseNoEndpoint, CauseGraceKill, CausePinnedCut, CauseInFlightExit, CauseKeepAliveRace,
		Cause5xxDraining, CauseRPCRefused, CauseCrashed, CauseTimeout, CauseOther, CauseLostAcks, CauseDuplicated, CauseSIGKILLOnly, CauseReadiness}
	advised := map[string]bool{}
	for _, key := range order {
		n := counts[key]
		if n == 0 {
			continue
		}
		var names []string
		for name := range reps[key] {
			names = append(names, name)
		}
		sort.Strings(names)
		t := text[key]
		res.Causes = append(res.Causes, Cause{Key: key, Count: n, Replicas: names, Explanation: t[0], Advice: t[1]})
		if !advised[t[1]] {
			advised[t[1]] = true
			res.Advice = append(res.Advice, t[1])
		}
	}
	var unclean []string
	for _, rp := range res.Replicas {
		if rp.SignalSent > 0 && rp.Killed == 0 && rp.Exited > 0 && rp.ExitSignal == "" && rp.ExitCode != 0 {
			unclean = append(unclean, fmt.Sprintf("%s (code %d, %s after the signal)", rp.Name, rp.ExitCode, (rp.Exited-rp.SignalSent).Round(10*time.Millisecond)))
		}
	}
	if len(unclean) > 0 && len(res.Causes) > 0 {
		res.Advice = append(res.Advice, "deleted replicas exited with a non-zero code: "+strings.Join(unclean, ", ")+
			"; their own shutdown reported a problem (a lameduck service: its budget ran out and work was cut): read their output (--json, output_tail) and give shutdown more time (grace period) or less work")
	}
	if len(res.Causes) > 0 {
		res.Advice = append(res.Advice, fmt.Sprintf("budget from what this drill observed: preStop (%s) + drain delay (>= %s) + longest request (%s) + shutdown work (%s) + 2s margin < terminationGracePeriodSeconds: use at least %s",
			prestop, lagNeed, longestOK.Round(time.Millisecond), stopTook.Round(10*time.Millisecond), graceNeed))
	}
}

// grpcCode is the name of a failed gRPC call's status code, or "".
func grpcCode(q request) string {
	if !q.GRPC {
		return ""
	}
	return q.Status.String()
}
