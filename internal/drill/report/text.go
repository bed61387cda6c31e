// Package report renders analysis results: the text report (80 columns,
// wrapped on purpose), the side-by-side comparison of several runs and the
// versioned JSON document. Reports read results and traces; they compute
// nothing the analysis did not.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
)

// Width is the width the text report fits in.
const Width = 80

func secs(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func ms(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}

// Wrap writes text wrapped at Width: the first line after first, the
// others after rest (both indents included in the width).
func Wrap(w io.Writer, first, rest, text string) {
	line := first
	empty := true
	for _, word := range strings.Fields(text) {
		if !empty && len([]rune(line))+1+len([]rune(word)) > Width {
			fmt.Fprintln(w, line)
			line, empty = rest, true
		}
		if empty {
			line += word
			empty = false
		} else {
			line += " " + word
		}
	}
	fmt.Fprintln(w, line)
}

// Settings writes the settings header of a run.
func Settings(w io.Writer, r *analysis.Result) {
	s := r.Settings
	prestop := s.PreStop
	if prestop == "" {
		prestop = "none"
	}
	Wrap(w, "  ", "    ", fmt.Sprintf("replicas %d, maxSurge %s (=%d), maxUnavailable %s (=%d), %d rollout(s), minReadySeconds %v",
		s.Replicas, s.MaxSurge, s.Surge, s.MaxUnavailable, s.Unavailable, s.Rollouts, s.MinReady))
	Wrap(w, "  ", "    ", fmt.Sprintf("readiness %s every %v; grace period %v, preStop %s, stop signal %s",
		s.Readiness, s.ProbePeriod, s.Grace, prestop, s.StopSignal))
	if s.ReadinessNote != "" {
		Wrap(w, "  ", "    ", "automatic "+s.ReadinessNote)
	}
	lag := fmt.Sprintf("%v–%v", s.LagMin, s.LagMax)
	if s.LagMin == s.LagMax {
		lag = s.LagMin.String()
	}
	Wrap(w, "  ", "    ", fmt.Sprintf("propagation %s: %s lag per node and change, %d nodes; seed %d", s.Profile, lag, s.Nodes, s.Seed))
	Wrap(w, "  ", "    ", fmt.Sprintf("load %s %s at %d req/s, timeout %v", r.Load.Method, r.Load.Path, r.Load.RequestedRate, s.Timeout))
	for _, n := range s.Notes {
		Wrap(w, "  ", "    ", n)
	}
}

// Text writes the full report of one run.
func Text(w io.Writer, r *analysis.Result) {
	fmt.Fprintf(w, "== %s ==\n", r.Name)
	Wrap(w, "  command: ", "    ", strings.Join(r.Settings.Command, " "))
	l := r.Load
	Wrap(w, "  ", "    ", fmt.Sprintf("load: %d sent in %s (achieved %.1f of %d req/s), %d succeeded, %d failed",
		l.Sent, secs(l.Duration), l.AchievedRate, l.RequestedRate, l.Succeeded, l.Failed))
	if l.CutByDrill > 0 {
		Wrap(w, "  ", "    ", fmt.Sprintf("%d requests still running when the drill stopped the load (its own teardown): not counted", l.CutByDrill))
	}
	Wrap(w, "  ", "    ", fmt.Sprintf("latency: p50 %s, p90 %s, p99 %s, max %s", ms(l.Latency.P50), ms(l.Latency.P90), ms(l.Latency.P99), ms(l.Latency.Max)))
	if lg := r.Ledger; lg != nil {
		Wrap(w, "  ledger: ", "    ", fmt.Sprintf("%s: %d acknowledged, %d committed; %d lost, %d duplicated, %d phantom (failed but committed), %d in flight at the end",
			lg.Source, lg.Acked, lg.Committed, lg.Lost, lg.Duplicated, lg.Phantom, lg.InFlight))
	}
	if c := r.Counter; c != nil {
		Wrap(w, "  counter (weak, a net count): ", "    ", fmt.Sprintf("%s %d -> %d in %s: %d counted for %d acknowledged",
			c.Key, c.Before, c.After, c.Store, c.Counted, c.Acked))
	}
	if r.Ledger == nil && r.Counter == nil {
		fmt.Fprintln(w, "  writes: not verified (no --ledger, no --expect-counter)")
	}
	for _, ro := range r.Rollouts {
		fmt.Fprintf(w, "  rollout %d: +%s -> +%s (%s)\n", ro.Index, secs(ro.Started), secs(ro.Completed), secs(ro.Completed-ro.Started))
	}
	if r.RolloutError != "" {
		Wrap(w, "  rollout error: ", "    ", r.RolloutError)
	}
	fmt.Fprintf(w, "  slowest balancer node to drop a deleted replica: %s\n", ms(r.MaxLag))
	Chaos(w, r)

	if l.Failed > 0 {
		fmt.Fprintln(w, "\n  failures by class (replica ×count; sent -> failed, when):")
		for _, class := range analysis.Classes {
			var fs []analysis.Failure
			for _, f := range r.Failures {
				if f.Class == class {
					fs = append(fs, f)
				}
			}
			if len(fs) == 0 {
				continue
			}
			byRep := map[string]int{}
			for _, f := range fs {
				name := f.Replica
				if name == "" {
					name = "?"
				}
				byRep[name]++
			}
			var parts []string
			for name, n := range byRep {
				parts = append(parts, fmt.Sprintf("%s ×%d", name, n))
			}
			sort.Strings(parts)
			Wrap(w, fmt.Sprintf("    %-8s %5d  ", class, len(fs)), "                   ", strings.Join(parts, ", "))
			Wrap(w, "      first ", "        ", failureLine(fs[0]))
			if len(fs) > 1 {
				Wrap(w, "      last  ", "        ", failureLine(fs[len(fs)-1]))
			}
		}
	}
	if lg := r.Ledger; lg != nil && len(lg.Examples) > 0 {
		fmt.Fprintln(w, "\n  ledger, by request id (first of each kind; all in --json):")
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		fmt.Fprintln(tw, "    request\tcommits\tanswer\tsent\tanswered\treplica\tconn\tkind")
		shown := map[string]int{}
		for _, e := range lg.Examples {
			if shown[e.Cause]++; shown[e.Cause] > 3 {
				continue
			}
			what := fmt.Sprint(e.Code)
			if e.Error != "" && e.Code == 0 {
				what = "error"
			}
			fmt.Fprintf(tw, "    %s\t%d\t%s\t+%s\t+%s\t%s\t%d\t%s\n", e.ID, e.Committed, what, secs(e.Start), secs(e.End), orQ(e.Replica), e.Conn, ledgerKind[e.Cause])
		}
		tw.Flush()
	}
	if len(r.Causes) > 0 {
		fmt.Fprintln(w, "\n  attribution:")
		for _, c := range r.Causes {
			reps := ""
			if len(c.Replicas) > 0 {
				reps = " [" + strings.Join(c.Replicas, ", ") + "]"
			}
			Wrap(w, fmt.Sprintf("    %5d  ", c.Count), "           ", c.Key+reps)
			Wrap(w, "           ", "           ", c.Explanation)
			for _, e := range c.Evidence {
				Wrap(w, "           seen: ", "             ", e)
			}
		}
	}
	if len(r.Advice) > 0 {
		fmt.Fprintln(w, "\n  advice:")
		for _, a := range r.Advice {
			Wrap(w, "    - ", "      ", "("+a.Kind+") "+a.Text)
		}
	}

	fmt.Fprintln(w, "\n  replicas (seconds since the start; ready after signal = readiness")
	fmt.Fprintln(w, "  went non-2xx after the stop signal):")
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "    name\tstart\tready\tdelete\tsignal\tkill\texit\tok\tfail\tready after signal")
	for _, rp := range r.Replicas {
		ready := rp.Readiness
		switch ready {
		case analysis.ReadinessWentUnready:
			ready = "went non-2xx"
		case analysis.ReadinessStayedReady:
			ready = "STAYED 2xx"
		case analysis.ReadinessNoAnswer:
			ready = "no answer"
		case "":
			ready = "-"
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", rp.Name, num(rp.Started), num(rp.Ready),
			num(rp.Terminating), num(rp.SignalSent), num(rp.Killed), num(rp.Exited), rp.Served, rp.Failed, ready)
	}
	tw.Flush()
	for _, rp := range r.Replicas {
		Wrap(w, "    "+rp.Name+": ", "      ", rp.Stop)
	}
	fmt.Fprintln(w)
	Wrap(w, "  verdict: ", "    ", r.Verdict.Summary)
}

// ledgerKind is a ledger cause in a word or two (the causes are
// explained under "attribution").
var ledgerKind = map[string]string{
	analysis.CauseLostAtExit: "lost at exit",
	analysis.CauseLost:       "lost",
	analysis.CauseDuplicated: "duplicated",
	analysis.CausePhantom:    "phantom",
}

func num(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", d.Seconds())
}

func orQ(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func failureLine(f analysis.Failure) string {
	s := f.Error
	if f.Code != 0 {
		s = fmt.Sprintf("HTTP %d", f.Code)
	}
	conn := "new connection"
	if f.Reused {
		conn = "reused connection"
	}
	return fmt.Sprintf("%s: sent +%s, failed +%s, %s: %s; %s, request %s",
		orQ(f.Replica), secs(f.Start), secs(f.End), f.Moment, s, conn, f.ID)
}

// Comparison writes the side-by-side verdict of several runs (the demo:
// naive, then lameduck).
func Comparison(w io.Writer, runs []*analysis.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	row := func(label string, f func(*analysis.Result) string) {
		fmt.Fprintf(tw, "%s\t", label)
		for _, r := range runs {
			fmt.Fprintf(tw, "%s\t", f(r))
		}
		fmt.Fprintln(tw)
	}
	ledger := func(f func(*analysis.LedgerReport) int64) func(*analysis.Result) string {
		return func(r *analysis.Result) string {
			if r.Ledger == nil {
				return "-"
			}
			return fmt.Sprint(f(r.Ledger))
		}
	}
	row("", func(r *analysis.Result) string { return r.Name })
	row("requests sent", func(r *analysis.Result) string { return fmt.Sprint(r.Load.Sent) })
	row("succeeded (2xx)", func(r *analysis.Result) string { return fmt.Sprint(r.Load.Succeeded) })
	row("failed", func(r *analysis.Result) string { return fmt.Sprint(r.Load.Failed) })
	for _, c := range analysis.Classes {
		row("  "+c, func(r *analysis.Result) string { return fmt.Sprint(r.Load.ByClass[c]) })
	}
	row("acked but lost", ledger(func(l *analysis.LedgerReport) int64 { return l.Lost }))
	row("duplicated", ledger(func(l *analysis.LedgerReport) int64 { return l.Duplicated }))
	row("failed but committed", ledger(func(l *analysis.LedgerReport) int64 { return l.Phantom }))
	row("SIGKILLed replicas", func(r *analysis.Result) string {
		n := 0
		for _, rp := range r.Replicas {
			if rp.Killed > 0 && !rp.StoppedAtEnd {
				n++
			}
		}
		return fmt.Sprint(n)
	})
	row("rollout time", func(r *analysis.Result) string {
		if len(r.Rollouts) == 0 || r.Rollouts[len(r.Rollouts)-1].Completed == 0 {
			return "-"
		}
		return secs(r.Rollouts[len(r.Rollouts)-1].Completed - r.Rollouts[0].Started)
	})
	row("latency p99", func(r *analysis.Result) string { return ms(r.Load.Latency.P99) })
	row("verdict", func(r *analysis.Result) string {
		if r.Verdict.Pass {
			return "PASS"
		}
		return "FAIL"
	})
	tw.Flush()
}
