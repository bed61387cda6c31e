package analysis

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// MaxExamples is how many lost, duplicated and phantom requests the
// ledger report names.
const MaxExamples = 10

// exitWindow is how close to a replica's exit a cut counts as "at exit".
const exitWindow = 500 * time.Millisecond

// Analyze turns a trace into a Result. It reads nothing but tr.
func Analyze(tr *trace.Trace) *Result {
	res := &Result{
		Schema:       trace.SchemaVersion,
		Name:         tr.Name,
		Settings:     tr.Settings,
		Duration:     tr.End,
		Rollouts:     slices.Clone(tr.Rollouts),
		RolloutError: tr.RolloutError,
		Causes:       []Cause{},
		Advice:       []Advice{},
		Failures:     []Failure{},
	}
	if res.Rollouts == nil {
		res.Rollouts = []trace.Rollout{}
	}
	a := &analyzer{tr: tr, res: res, reps: map[string]map[string]bool{}, counts: map[string]int64{}, evidence: map[string][]string{}}
	if tr.Backend == "kube" {
		a.noEndpoint = noReadyEndpoint(tr.Views)
	}
	a.replicas()
	a.requests()
	a.lag()
	a.ledger()
	a.chaosReport()
	a.counter()
	a.lifecycles()
	a.causes()
	a.verdict()
	return res
}

type analyzer struct {
	tr        *trace.Trace
	res       *Result
	lcs       map[string]*Replica
	conns     map[*trace.Request]*trace.Conn
	longestOK time.Duration
	longest   time.Duration
	// lastOK is the end of the last 2xx each replica served.
	lastOK   map[string]time.Duration
	counts   map[string]int64
	reps     map[string]map[string]bool
	evidence map[string][]string
	cs       *chaosState // --chaos kills (chaos.go)
	// noEndpoint: the spans of a --kube run without a ready endpoint
	// (noendpoint.go).
	noEndpoint []interval
}

func (a *analyzer) add(key, replica string, n int64) {
	a.counts[key] += n
	if a.reps[key] == nil {
		a.reps[key] = map[string]bool{}
	}
	if replica != "" {
		a.reps[key][replica] = true
	}
}

func (a *analyzer) replicas() {
	a.lcs = map[string]*Replica{}
	a.res.Replicas = make([]Replica, len(a.tr.Replicas))
	for i, lc := range a.tr.Replicas {
		a.res.Replicas[i] = Replica{Replica: lc, Readiness: ReadinessVerdict(lc), Stop: stopText(lc)}
		a.lcs[lc.Name] = &a.res.Replicas[i]
	}
}

func stopText(lc trace.Replica) string {
	switch {
	case lc.StoppedAtEnd:
		return "ran to the end"
	case lc.Exited == 0:
		return "running at the end"
	case lc.Killed > 0:
		return "SIGKILLed at the grace deadline"
	case lc.Unexpected:
		return exitText(lc) + " (not deleted)"
	}
	return exitText(lc)
}

func exitText(lc trace.Replica) string {
	if lc.ExitSignal != "" {
		return "killed by " + lc.ExitSignal
	}
	return fmt.Sprintf("exit code %d", lc.ExitCode)
}

// ReadinessVerdict says whether readiness went non-2xx after the stop
// signal (Readiness*), "" when it cannot say.
func ReadinessVerdict(lc trace.Replica) string {
	if lc.Terminating == 0 || lc.SignalSent == 0 || lc.ProbeKind == "tcp" {
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
		return ReadinessWentUnready
	case answered > 0:
		return ReadinessStayedReady
	default:
		return ReadinessNoAnswer
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// MomentOf describes when t happened relative to the rollouts.
func MomentOf(t time.Duration, steps []trace.Step, rollouts []trace.Rollout) string {
	var last *trace.Step
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
			return fmt.Sprintf("%.1fs after rollout %d completed", (t - ro.Completed).Seconds(), ro.Index)
		}
	}
	return fmt.Sprintf("%.1fs after rollout %d step %d (%s %s)", (t - last.At).Seconds(), last.Rollout, last.Index, last.Action, last.Replica)
}

func (a *analyzer) requests() {
	tr := a.tr
	s := tr.Settings
	ix := newConnIndex(tr.Conns, tr.Requests)
	a.conns = map[*trace.Request]*trace.Conn{}
	a.lastOK = map[string]time.Duration{}
	method := s.Method
	if s.Protocol == "grpc" {
		method = "gRPC"
	}
	lr := LoadReport{Protocol: s.Protocol, Method: method, Path: s.Path, RequestedRate: s.Rate, ByClass: map[string]int{}}
	lat := make([]time.Duration, 0, len(tr.Requests))
	first, last := time.Duration(math.MaxInt64), time.Duration(0)
	for i := range tr.Requests {
		q := &tr.Requests[i]
		lr.Sent++
		first, last = min(first, q.Start), max(last, q.Start)
		if q.Unfinished {
			lr.CutByDrill++
			continue
		}
		lat = append(lat, q.End-q.Start)
		a.longest = max(a.longest, q.End-q.Start)
		c := ix.lookup(q)
		a.conns[q] = c
		replica, node, connID := "", -1, uint64(0)
		if c != nil {
			replica, node, connID = c.Replica, c.Node, c.ID
		}
		class := Classify(q, c)
		if class == "" {
			lr.Succeeded++
			a.longestOK = max(a.longestOK, q.End-q.Start)
			if rp := a.lcs[replica]; rp != nil {
				rp.Served++
				a.lastOK[replica] = max(a.lastOK[replica], q.End)
			}
			continue
		}
		lr.Failed++
		lr.ByClass[class]++
		f := Failure{Seq: q.Seq, ID: q.ID, Start: q.Start, End: q.End, Class: class, Code: q.Code, GRPCCode: q.GRPCCode,
			Error: q.Error, Replica: replica, Conn: connID, Node: node, Reused: q.Reused}
		f.Moment = MomentOf(f.End, tr.Steps, tr.Rollouts)
		var lc *trace.Replica
		if rp := a.lcs[replica]; rp != nil {
			lc = &rp.Replica
			rp.Failed++
		}
		f.Cause = Attribute(&f, lc, c)
		if f.Cause == CauseBalancerLag && a.fallback(c) {
			// The node knew the replica was terminating and sent the
			// connection there anyway: no endpoint was ready (kube-proxy
			// falls back to serving-but-terminating endpoints).
			f.Cause = CauseNoEndpoint
		}
		f.Cause = a.chaosCause(q, &f, lc, f.Cause)
		if tr.Backend == "kube" && c == nil && !q.Reused && q.Local == "" && (f.Cause == CauseOther || f.Cause == CauseTimeout) &&
			(class == ClassRefused || class == ClassTimeout) && duringNoEndpoint(a.noEndpoint, q.Start, q.End) {
			// A new connection that never got established while the
			// Service had no ready endpoint: kube-proxy REJECTed it
			// (or the kernel dropped the SYN, its ICMP rate limit spent).
			f.Cause = CauseNoEndpoint
		}
		if f.Cause == CauseOther && c == nil && !q.Reused && tr.Backend == "kube" {
			f.Cause = CausePodUnknown
		}
		a.add(f.Cause, f.Replica, 1)
		a.res.Failures = append(a.res.Failures, f)
	}
	sort.SliceStable(a.res.Failures, func(i, j int) bool { return a.res.Failures[i].Start < a.res.Failures[j].Start })
	slices.Sort(lat)
	lr.Latency = Latency{P50: percentile(lat, .50), P90: percentile(lat, .90), P99: percentile(lat, .99)}
	if len(lat) > 0 {
		lr.Latency.Max = lat[len(lat)-1]
	}
	lr.Duration = tr.LoadStop - tr.LoadStart
	if span := last - first; span > 0 && lr.Sent > 1 {
		lr.AchievedRate = float64(lr.Sent-1) / span.Seconds()
	}
	a.res.Load = lr
}

// fallback reports whether c was routed to a replica its node already
// saw as terminating.
func (a *analyzer) fallback(c *trace.Conn) bool {
	if c == nil {
		return false
	}
	for _, v := range a.tr.Views {
		if v.Node == c.Node && v.Replica == c.Replica && v.Terminating && v.Applied <= c.Accepted {
			return true
		}
	}
	return false
}

// Attribute names the cause of one failure, from the lifecycle of the
// replica that carried it (nil when unknown) and its connection.
func Attribute(f *Failure, lc *trace.Replica, c *trace.Conn) string {
	end := f.End
	near := func(x, y time.Duration) bool { d := x - y; return d > -exitWindow && d < exitWindow }
	switch f.Class {
	case ClassRefused:
		if c != nil && c.Outcome == trace.OutcomeNoEndpoint {
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
		if c != nil && c.BackendClosed != 0 {
			cut = c.BackendClosed
		}
		if lc.Killed > 0 && f.Start <= lc.Killed+exitWindow && (near(cut, lc.Killed) || end >= lc.Killed) {
			return CauseGraceKill
		}
		if lc.Exited > 0 && near(cut, lc.Exited) {
			switch {
			case lc.Unexpected:
				return CauseCrashed
			case f.Reused && lc.ExitSignal == "" && c != nil && c.BackendClose == trace.CloseFIN:
				// The process closed the idle connection itself on its
				// way out, as the client sent on it.
				return CauseKeepAliveRace
			case f.Reused:
				return CausePinnedCut
			default:
				return CauseInFlightExit
			}
		}
		if f.Reused && c != nil && c.BackendClose != "" && f.Class != ClassTimeout {
			return CauseKeepAliveRace
		}
		if f.Class == ClassTimeout {
			return CauseTimeout
		}
		return CauseOther
	case Class5xx:
		if lc != nil && lc.Terminating > 0 && end >= lc.Terminating {
			return Cause5xxTerminating
		}
		return CauseOther
	case ClassOther:
		// UNAVAILABLE from the service itself (not the transport) after
		// the replica was deleted: it refused the RPC as it stopped.
		if f.GRPCCode == "Unavailable" && lc != nil && lc.Terminating > 0 && end >= lc.Terminating {
			return CauseRPCRefused
		}
	}
	return CauseOther
}

func (a *analyzer) lag() {
	for _, v := range a.tr.Views {
		if v.Terminating || v.Removed {
			a.res.MaxLag = max(a.res.MaxLag, v.Applied-v.Changed)
		}
	}
}

func (a *analyzer) ledger() {
	l := a.tr.Ledger
	if l == nil {
		return
	}
	lr := &LedgerReport{Source: l.Source}
	sent := map[string]bool{}
	// A lost write is lost at exit when it was acknowledged in the
	// replica's last stretch, from which nothing it acknowledged was
	// committed: the replica stopped with its writes pending. The stretch
	// is "after the last committed ack", with as much slack before it as
	// there was from it to the exit (writes of one replica do not land
	// in strict ack order). A write lost while later ones landed well
	// after it was dropped.
	lastCommitted := map[string]time.Duration{}
	for i := range a.tr.Requests {
		q := &a.tr.Requests[i]
		if c := a.conns[q]; c != nil && q.Acked() && l.Committed[q.ID] > 0 {
			lastCommitted[c.Replica] = max(lastCommitted[c.Replica], q.End)
		}
	}
	var lost, dup, phantom []LedgerEntry
	for i := range a.tr.Requests {
		q := &a.tr.Requests[i]
		sent[q.ID] = true
		n := l.Committed[q.ID]
		if n > 0 {
			lr.Committed++
		}
		if q.Unfinished {
			lr.InFlight++
			if n > 1 {
				lr.Duplicated++
				dup = append(dup, a.entry(q, n, CauseDuplicated))
			}
			continue
		}
		acked := q.Acked()
		if acked {
			lr.Acked++
		}
		switch {
		case acked && n == 0:
			lr.Lost++
			e := a.entry(q, n, CauseLost)
			if rp := a.lcs[e.Replica]; rp != nil && rp.Exited > 0 && !rp.Unexpected && !rp.StoppedAtEnd && q.End > 2*lastCommitted[e.Replica]-rp.Exited {
				e.Cause = CauseLostAtExit
			}
			lost = append(lost, e)
		case n > 1:
			lr.Duplicated++
			dup = append(dup, a.entry(q, n, CauseDuplicated))
		case !acked && n > 0:
			lr.Phantom++
			phantom = append(phantom, a.entry(q, n, CausePhantom))
		}
	}
	for id := range l.Committed {
		if !sent[id] {
			lr.Unknown++
		}
	}
	for _, list := range [][]LedgerEntry{lost, dup, phantom} {
		for i, e := range list {
			a.add(e.Cause, e.Replica, 1)
			if i < MaxExamples {
				lr.Examples = append(lr.Examples, e)
			}
		}
	}
	a.res.Ledger = lr
}

func (a *analyzer) entry(q *trace.Request, n int64, cause string) LedgerEntry {
	e := LedgerEntry{ID: q.ID, Start: q.Start, End: q.End, Code: q.Code, Error: q.Error, Committed: n, Cause: cause}
	if c := a.conns[q]; c != nil {
		e.Replica, e.Conn = c.Replica, c.ID
	}
	a.chaosLedgerCause(q, &e)
	return e
}

func (a *analyzer) counter() {
	c := a.tr.Counter
	if c == nil {
		return
	}
	var acked int64
	for i := range a.tr.Requests {
		if a.tr.Requests[i].Acked() {
			acked++
		}
	}
	cr := &CounterReport{Key: c.Key, Store: c.Store, Before: c.Before, After: c.After, Counted: c.After - c.Before, Acked: acked}
	if cr.Acked > cr.Counted {
		cr.Missing = cr.Acked - cr.Counted
	} else {
		cr.Extra = cr.Counted - cr.Acked
	}
	a.res.Counter = cr
	if a.tr.Ledger != nil {
		return // the ledger says which requests; the counter adds nothing
	}
	if cr.Missing > 0 {
		a.add(CauseCounterShort, "", cr.Missing)
	}
	if cr.Extra > 0 {
		a.add(CauseCounterOver, "", cr.Extra)
	}
}

// lifecycles finds the causes in how replicas stopped.
func (a *analyzer) lifecycles() {
	for i := range a.res.Replicas {
		rp := &a.res.Replicas[i]
		if rp.SignalSent > 0 {
			if last, ok := a.lastOK[rp.Name]; ok && last > rp.SignalSent {
				rp.ServedAfterSignal = last - rp.SignalSent
			}
		}
		deleted := rp.Terminating > 0 && !rp.StoppedAtEnd
		switch {
		case deleted && rp.Killed > 0:
			if reacted(rp.Replica) || a.refusedBetween(rp.Name, rp.SignalSent, rp.Killed) {
				a.add(CauseShutdownTooSlow, rp.Name, 1)
			} else {
				a.add(CauseSignalIgnored, rp.Name, 1)
			}
		case deleted && rp.Exited > 0 && rp.ExitSignal == "" && rp.ExitCode != 0:
			a.add(CauseNonZeroExit, rp.Name, 1)
			a.evidence[CauseNonZeroExit] = append(a.evidence[CauseNonZeroExit],
				fmt.Sprintf("%s exited with code %d %s after its signal; its output ends with: %s", rp.Name, rp.ExitCode,
					(rp.Exited-rp.SignalSent).Round(10*time.Millisecond), lastLine(rp.Output)))
		case a.chaosKilled(rp.Name):
			a.add(CauseChaosKill, rp.Name, 1)
		case rp.Unexpected:
			if a.counts[CauseCrashed] == 0 || !a.reps[CauseCrashed][rp.Name] {
				a.add(CauseCrashed, rp.Name, 1)
			}
		}
		if rp.Readiness == ReadinessStayedReady {
			a.add(CauseReadinessStayed, rp.Name, 1)
		}
	}
}

// reacted reports whether a replica visibly reacted to its stop signal:
// a readiness probe after it went non-2xx, or found the port closed.
func reacted(lc trace.Replica) bool {
	for _, pr := range lc.TermProbes {
		if pr.At < lc.SignalSent+200*time.Millisecond {
			continue
		}
		if lc.Killed > 0 && pr.At >= lc.Killed {
			continue // refused because it was SIGKILLed: says nothing of the signal
		}
		if (pr.Status != 0 && (pr.Status < 200 || pr.Status >= 300)) || strings.Contains(pr.Err, "refused") {
			return true
		}
	}
	return false
}

// refusedBetween reports whether the replica refused a connection from
// the stop signal at from until its SIGKILL at until (its listener was
// closed: it reacted to the signal). Refusals after the SIGKILL (balancer
// nodes that had not yet learned of the exit) say nothing of the signal.
func (a *analyzer) refusedBetween(name string, from, until time.Duration) bool {
	for _, c := range a.tr.Conns {
		if c.Replica == name && c.Outcome == trace.OutcomeRefused && c.Accepted >= from && (until == 0 || c.Accepted < until) {
			return true
		}
	}
	return false
}

// lastLine is the last non-empty line of s, cut to 160 characters.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 160 {
		l = l[:157] + "..."
	}
	return l
}

func (a *analyzer) measures() Measures {
	s := a.tr.Settings
	m := Measures{Lag: max(a.res.MaxLag, s.LagMax), LongestOK: a.longestOK, Longest: a.longest, PreStop: s.PreStopSleep, Grace: s.Grace, Signal: s.StopSignal, Lameduck: s.Lameduck,
		Timeout: s.Timeout}
	if a.res.Retry != nil {
		m.GaveUpBudget = a.res.Retry.GaveUp[trace.GaveUpBudget]
	}
	first := true
	for _, rp := range a.res.Replicas {
		if rp.SignalSent == 0 || rp.StoppedAtEnd {
			continue
		}
		if rp.Exited > 0 && rp.Killed == 0 {
			m.StopTook = max(m.StopTook, rp.Exited-rp.SignalSent)
		}
		// How long it kept accepting after the signal: until the first
		// refused connection, else until it exited.
		kept := time.Duration(-1)
		for _, c := range a.tr.Conns {
			if c.Replica == rp.Name && c.Outcome == trace.OutcomeRefused && c.Accepted >= rp.SignalSent {
				kept = c.Accepted - rp.SignalSent
				break
			}
		}
		if kept < 0 {
			continue // never refused: nothing to learn
		}
		if first || kept < m.KeptServing {
			m.KeptServing, first = kept, false
		}
	}
	return m
}

func (a *analyzer) causes() {
	m := a.measures()
	seen := map[string]bool{}
	for _, def := range Causes {
		n := a.counts[def.Key]
		if n == 0 {
			continue
		}
		var names []string
		for name := range a.reps[def.Key] {
			names = append(names, name)
		}
		sort.Strings(names)
		c := Cause{Key: def.Key, Count: n, Replicas: names, Explanation: def.Explanation, Evidence: a.evidence[def.Key]}
		if def.Key == CauseBalancerLag {
			c.Evidence = append(c.Evidence, fmt.Sprintf("the slowest balancer node took %s to drop a deleted replica", a.res.MaxLag.Round(10*time.Millisecond)))
		}
		for _, name := range names {
			rp := a.lcs[name]
			if rp == nil || (rp.Killed == 0 && rp.ExitCode == 0 && def.Key != CauseInFlightExit) {
				continue
			}
			if l := lastLine(rp.Output); l != "" && (def.Key == CauseSignalIgnored || def.Key == CauseShutdownTooSlow || def.Key == CauseGraceKill || def.Key == CauseInFlightExit) {
				c.Evidence = append(c.Evidence, fmt.Sprintf("%s's last log line: %s", name, l))
			}
		}
		a.res.Causes = append(a.res.Causes, c)
		advise := def.Advice
		if def.Key == CauseGraceKill && (a.counts[CauseShutdownTooSlow] > 0 || a.counts[CauseSignalIgnored] == 0) {
			// More time helps a shutdown that was too slow, not one that
			// never began (the signal was ignored: its own advice).
			advise, _ = causeAdvice(CauseShutdownTooSlow)
		}
		if advise == nil {
			continue
		}
		for _, ad := range advise(m) {
			if !seen[ad.Text] {
				seen[ad.Text] = true
				a.res.Advice = append(a.res.Advice, ad)
			}
		}
	}
	kind := map[string]int{AdviceKubernetes: 0, AdviceService: 1, AdviceLameduck: 2}
	sort.SliceStable(a.res.Advice, func(i, j int) bool { return kind[a.res.Advice[i].Kind] < kind[a.res.Advice[j].Kind] })
}

func causeAdvice(key string) (func(Measures) []Advice, bool) {
	d, ok := CauseByKey(key)
	return d.Advice, ok
}

func (a *analyzer) verdict() {
	r := a.res
	v := Verdict{WritesVerified: r.Ledger != nil || r.Counter != nil}
	if r.Load.Failed > 0 {
		var parts []string
		for _, c := range Classes {
			if n := r.Load.ByClass[c]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, c))
			}
		}
		v.Reasons = append(v.Reasons, fmt.Sprintf("%d of %d requests failed (%s)", r.Load.Failed, r.Load.Sent, strings.Join(parts, ", ")))
	}
	for _, rp := range r.Replicas {
		if rp.Killed > 0 && rp.Terminating > 0 && !rp.StoppedAtEnd {
			v.Reasons = append(v.Reasons, fmt.Sprintf("replica %s was SIGKILLed at the grace deadline", rp.Name))
		} else if rp.Unexpected && !a.chaosKilled(rp.Name) {
			v.Reasons = append(v.Reasons, fmt.Sprintf("replica %s exited without being deleted (%s)", rp.Name, exitText(rp.Replica)))
		}
	}
	if l := r.Ledger; l != nil {
		if l.Lost > 0 {
			v.Reasons = append(v.Reasons, fmt.Sprintf("%d acknowledged writes lost", l.Lost))
		}
		if l.Duplicated > 0 {
			v.Reasons = append(v.Reasons, fmt.Sprintf("%d writes duplicated", l.Duplicated))
		}
		if l.Unknown > 0 {
			v.Reasons = append(v.Reasons, fmt.Sprintf("%d committed ids were never sent", l.Unknown))
		}
	} else if c := r.Counter; c != nil {
		if c.Missing > 0 {
			v.Reasons = append(v.Reasons, fmt.Sprintf("counter %d short of the acknowledged requests", c.Missing))
		}
		if c.Extra > 0 {
			v.Reasons = append(v.Reasons, fmt.Sprintf("counter %d over the acknowledged requests", c.Extra))
		}
	}
	if r.RolloutError != "" {
		v.Reasons = append(v.Reasons, "the rollout did not complete")
	}
	v.Pass = len(v.Reasons) == 0
	switch {
	case !v.Pass:
		v.Summary = "FAIL: " + strings.Join(v.Reasons, "; ")
	case r.Ledger != nil:
		v.Summary = fmt.Sprintf("PASS: no request failed; every acknowledged write committed exactly once (ledger, %d ids)", r.Ledger.Acked)
	case r.Counter != nil:
		v.Summary = "PASS: no request failed; the counter matches the acknowledged requests (a net count: weak)"
	default:
		v.Summary = "PASS: no request failed; writes not verified (no store checked)"
	}
	r.Verdict = v
}
