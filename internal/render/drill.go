package render

import (
	"bufio"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/report"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// FromDrill builds the Timeline of a drill's runs (the --json document's
// runs: each analysis result with the trace it was computed from). As in
// the drill's exit code, the last run is the verdict: when there are
// several (the demo: naive, then lameduck), the earlier ones are controls.
//
// Verdicts, failures, causes and attribution are the analysis'; the
// timeline adds what the trace holds: every request counted per replica
// and bucket (a request's replica is the one its balancer connection went
// to), lifecycles, rollout steps and balancer views. Phases come from the
// service's own log (lameduck's "lameduck: phase" lines in the replica's
// output): the first phase after Serving is placed at the stop signal and
// the others follow by the durations the service logged.
func FromDrill(runs []report.Run) *Timeline {
	t := &Timeline{Title: "lameduck drill"}
	var names []string
	longest := time.Duration(0)
	for _, r := range runs {
		names = append(names, r.Name)
		longest = max(longest, runEnd(r))
	}
	if len(names) > 0 {
		t.Title = "lameduck drill: " + strings.Join(names, " vs ")
	}
	t.Bucket = BucketFor(longest, DefaultMaxBuckets)
	// Bars of a handful of requests each, at least: at 100 req/s over 3
	// replicas a 50ms bucket would hold 1 or 2, and the bars flicker.
	for _, r := range runs {
		if s := r.Settings; s.Rate > 0 {
			t.Bucket = max(t.Bucket, BucketFor(time.Duration(s.Replicas*minPerBar)*time.Second/time.Duration(s.Rate), 1))
		}
	}
	for i, r := range runs {
		t.Runs = append(t.Runs, fromRun(r, t.Bucket, i < len(runs)-1))
	}
	return t
}

// minPerBar is the average count of requests per replica a bar should hold
// at the drill's rate.
const minPerBar = 6

func runEnd(r report.Run) time.Duration {
	d := r.Duration
	if r.Trace != nil {
		d = max(d, r.Trace.End)
	}
	return d
}

func fromRun(dr report.Run, bucket time.Duration, control bool) *Run {
	res, tr := dr.Result, dr.Trace
	if tr == nil {
		tr = &trace.Trace{}
	}
	s := res.Settings
	r := &Run{
		Name:      res.Name,
		Command:   strings.Join(s.Command, " "),
		Pass:      res.Verdict.Pass,
		Verdict:   res.Verdict.Summary,
		Control:   control,
		Duration:  runEnd(dr),
		Sent:      res.Load.Sent,
		Succeeded: res.Load.Succeeded,
		Failed:    res.Load.Failed,
		P99:       res.Load.Latency.P99,
		MaxLag:    res.MaxLag,
	}
	prestop := s.PreStop
	if prestop == "" {
		prestop = "none"
	}
	lag := fmt.Sprintf("%v–%v", s.LagMin, s.LagMax)
	if s.LagMin == s.LagMax {
		lag = s.LagMin.String()
	}
	r.Settings = []string{
		fmt.Sprintf("replicas %d, maxSurge %s, maxUnavailable %s, %d rollout(s); readiness %s every %v; grace period %v, preStop %s, stop signal %s",
			s.Replicas, s.MaxSurge, s.MaxUnavailable, s.Rollouts, s.Readiness, s.ProbePeriod, s.Grace, prestop, s.StopSignal),
		fmt.Sprintf("propagation %s: %s per node and change, %d nodes; load %s %s at %d req/s (%s), timeout %v",
			s.Profile, lag, s.Nodes, res.Load.Method, res.Load.Path, res.Load.RequestedRate, res.Load.Protocol, s.Timeout),
	}
	r.Notes = append(r.Notes, s.Notes...)
	switch {
	case res.Ledger != nil:
		l := res.Ledger
		r.Writes = fmt.Sprintf("%d acknowledged, %d committed, %d lost, %d duplicated, %d phantom, %d in flight at the end (ledger, by request id)",
			l.Acked, l.Committed, l.Lost, l.Duplicated, l.Phantom, l.InFlight)
		r.Lost, r.Duplicated = l.Lost, l.Duplicated
	case res.Counter != nil:
		c := res.Counter
		r.Writes = fmt.Sprintf("counter %s: %d counted, %d acknowledged (a net count: weak)", c.Key, c.Counted, c.Acked)
		r.Lost, r.Duplicated = c.Missing, c.Extra
	}

	for i, ro := range tr.Rollouts {
		x := Rollout{Index: ro.Index, Start: ro.Started, End: ro.Completed}
		if ro.Completed == 0 && i == len(tr.Rollouts)-1 {
			x.Error = res.RolloutError
		}
		r.Rollouts = append(r.Rollouts, x)
	}
	for _, st := range tr.Steps {
		r.Steps = append(r.Steps, Step{At: st.At, Rollout: st.Rollout, Action: st.Action, Replica: st.Replica})
	}

	// Lanes, in start order.
	reps := slices.Clone(tr.Replicas)
	slices.SortStableFunc(reps, func(a, b trace.Replica) int { return cmp.Compare(a.Started, b.Started) })
	unready := map[string][]time.Duration{}
	for _, e := range tr.Events {
		if e.Kind == trace.EventUnready && e.Replica != "" {
			unready[e.Replica] = append(unready[e.Replica], e.At)
		}
	}
	for _, rp := range reps {
		r.Lanes = append(r.Lanes, &Lane{Replica: rp.Name, Revision: rp.Revision, Events: lifecycle(rp, unready[rp.Name])})
	}

	// Requests, per replica and bucket.
	failed := map[uint64]bool{}
	for _, fl := range res.Failures {
		failed[fl.Seq] = true
	}
	c := NewCounter(r, bucket)
	for _, l := range r.Lanes {
		c.Lane(l.Replica).Counted = true
	}
	conns := newConnIndex(tr.Conns)
	failedAt := map[uint64]string{}
	for _, fl := range res.Failures {
		failedAt[fl.Seq] = fl.Replica
	}
	for i := range tr.Requests {
		q := &tr.Requests[i]
		switch {
		case failed[q.Seq]:
			c.Request(failedAt[q.Seq], q.Start, true)
		case q.Acked():
			c.Request(conns.replica(q), q.Start, false)
		}
		// The ledger's verdict on the request's write, as the analysis
		// reconciles it: lost when acknowledged and never committed,
		// duplicated when committed more than once.
		if l := tr.Ledger; l != nil {
			n := l.Committed[q.ID]
			kind := ""
			switch {
			case !q.Unfinished && q.Acked() && n == 0:
				kind = WriteLost
			case n > 1:
				kind = WriteDuplicated
			}
			if kind != "" {
				r.WriteIssues = append(r.WriteIssues, WriteIssue{At: q.Start, Replica: conns.replica(q), Kind: kind, ID: q.ID, Committed: n})
			}
		}
	}
	c.Close()

	// Balancer nodes.
	byNode := map[int][]ViewChange{}
	for _, v := range tr.Views {
		byNode[v.Node] = append(byNode[v.Node], ViewChange{Replica: v.Replica, Change: viewChange(v), Changed: v.Changed, Applied: v.Applied})
	}
	for n := range max(s.Nodes, len(byNode)) {
		if ch, ok := byNode[n]; ok || n < s.Nodes {
			r.Nodes = append(r.Nodes, Node{Node: n, Changes: ch})
		}
	}

	advice := map[string][]string{}
	for _, a := range res.Advice {
		advice[a.Cause] = append(advice[a.Cause], a.Text)
	}
	for _, k := range res.Causes {
		expl := k.Explanation
		if len(k.Evidence) > 0 {
			expl += " (evidence: " + strings.Join(k.Evidence, "; ") + ")"
		}
		r.Causes = append(r.Causes, Cause{Key: k.Key, Count: k.Count, Explanation: expl, Advice: strings.Join(advice[k.Key], " ")})
	}
	for _, fl := range res.Failures {
		conn := "new"
		if fl.Reused {
			conn = "reused"
		}
		msg := fl.Error
		if fl.GRPCCode != "" {
			msg = strings.TrimSpace("gRPC " + fl.GRPCCode + " " + msg)
		}
		r.Failures = append(r.Failures, Failure{
			At: fl.Start, Latency: max(fl.End-fl.Start, 0), Replica: fl.Replica, Class: fl.Class, Cause: fl.Cause,
			Code: fl.Code, Error: msg, Node: fl.Node, Conn: conn, Moment: fl.Moment, ID: fl.ID,
		})
	}
	if res.Ledger == nil && res.Counter == nil {
		r.Notes = append(r.Notes, "writes not verified: no store was checked")
	}
	return r
}

// lifecycle lists a replica's events, as drawn.
func lifecycle(rp trace.Replica, unready []time.Duration) []Event {
	evs := []Event{{At: rp.Started, Kind: EventStarted, Detail: fmt.Sprintf("revision %d, pid %d, port %d", rp.Revision, rp.PID, rp.Port)}}
	add := func(at time.Duration, kind, detail string) {
		if at > 0 {
			evs = append(evs, Event{At: at, Kind: kind, Detail: detail})
		}
	}
	add(rp.Ready, EventReady, "")
	for _, u := range unready {
		add(u, EventUnready, "")
	}
	add(rp.Terminating, EventDeleted, "")
	add(rp.PreStopDone, EventPreStopDone, "")
	add(rp.SignalSent, EventSignal, rp.Signal)
	add(rp.Killed, EventSIGKILL, "")
	exit := fmt.Sprintf("exit code %d", rp.ExitCode)
	if rp.ExitSignal != "" {
		exit = "killed by " + rp.ExitSignal
	}
	switch {
	case rp.Unexpected:
		exit += ", before it was deleted"
	case rp.StoppedAtEnd:
		exit += ", stopped by the drill at its end"
	}
	add(rp.Exited, EventExited, exit)
	if rp.SignalSent > 0 {
		evs = append(evs, phases(rp.Output, rp.SignalSent, rp.Exited)...)
	}
	return evs
}

// phases reads lameduck's phase lines ("lameduck: phase" with phase=,
// from= and took= keys, slog's text format) from a replica's output. The
// phase entered from Serving is placed at the stop signal; each later one
// at its predecessor's time plus the duration the service logged for it.
// Phases after the exit are dropped (an output from an earlier process).
func phases(output string, signal, exited time.Duration) []Event {
	type line struct {
		phase, from string
		took        time.Duration
	}
	var ls []line
	sc := bufio.NewScanner(strings.NewReader(output))
	for sc.Scan() {
		text := sc.Text()
		i := strings.Index(text, "lameduck: phase")
		if i < 0 {
			continue
		}
		var l line
		for _, kv := range strings.Fields(text[i+len("lameduck: phase"):]) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			switch k {
			case "phase":
				l.phase = v
			case "from":
				l.from = v
			case "took":
				l.took, _ = time.ParseDuration(v)
			}
		}
		if l.phase != "" {
			ls = append(ls, l)
		}
	}
	var evs []Event
	at := time.Duration(-1)
	for _, l := range ls {
		switch {
		case l.from == "Serving":
			at = signal
		case at >= 0:
			at += l.took
		default:
			continue // before the anchor: the tail cut the start
		}
		if exited > 0 && at > exited {
			break
		}
		evs = append(evs, Event{At: at, Kind: EventPhase, Detail: l.phase + " (from the service's log)"})
	}
	return evs
}

func viewChange(v trace.View) string {
	switch {
	case v.Removed:
		return "removed"
	case v.Terminating:
		return "terminating"
	case v.Ready:
		return "ready"
	case v.Serving:
		return "added"
	}
	return "unready"
}

// connIndex finds the replica a request's connection went to: the
// balancer connection from the request's local address accepted last
// before the request was sent.
type connIndex map[string][]*trace.Conn

func newConnIndex(conns []trace.Conn) connIndex {
	ix := connIndex{}
	for i := range conns {
		c := &conns[i]
		ix[c.Client] = append(ix[c.Client], c)
	}
	for _, cs := range ix {
		slices.SortFunc(cs, func(a, b *trace.Conn) int { return cmp.Compare(a.Accepted, b.Accepted) })
	}
	return ix
}

func (ix connIndex) replica(q *trace.Request) string {
	cs := ix[q.Local]
	end := q.End
	if end == 0 {
		end = q.Start
	}
	// The latest connection accepted before the request ended.
	i, _ := slices.BinarySearchFunc(cs, end, func(c *trace.Conn, t time.Duration) int {
		if c.Accepted <= t {
			return -1
		}
		return 1
	})
	if i == 0 {
		return ""
	}
	return cs[i-1].Replica
}
