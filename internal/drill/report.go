package drill

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

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

// rolloutTime is the time from the first rollout's start to the last one's
// completion.
func (r *Result) rolloutTime() time.Duration {
	if len(r.Rollouts) == 0 || r.Rollouts[len(r.Rollouts)-1].Completed == 0 {
		return 0
	}
	return r.Rollouts[len(r.Rollouts)-1].Completed - r.Rollouts[0].Started
}

// Verdict is "PASS" or "FAIL" with the reason in words.
func (r *Result) Verdict() string {
	if r.Clean() {
		return "PASS: nothing failed, nothing lost"
	}
	var why []string
	if r.Load.Failed > 0 {
		why = append(why, fmt.Sprintf("%d of %d requests failed", r.Load.Failed, r.Load.Sent))
	}
	if v := r.Verification; v != nil {
		if v.Lost > 0 {
			why = append(why, fmt.Sprintf("%d acknowledged writes lost", v.Lost))
		}
		if v.Duplicated > 0 {
			why = append(why, fmt.Sprintf("%d counted more than acknowledged", v.Duplicated))
		}
	}
	if r.RolloutError != "" {
		why = append(why, "the rollout did not complete")
	}
	return "FAIL: " + strings.Join(why, ", ")
}

// WriteSettings writes the settings header of a run.
func (r *Result) WriteSettings(w io.Writer) {
	s := r.Settings
	prestop := s.PreStop
	if prestop == "" {
		prestop = "none"
	}
	fmt.Fprintf(w, "  replicas %d, maxSurge %s (=%d), maxUnavailable %s (=%d), %d rollout(s), minReadySeconds %v\n",
		s.Replicas, s.MaxSurge, s.Surge, s.MaxUnavailable, s.Unavailable, s.Rollouts, s.MinReady)
	fmt.Fprintf(w, "  readiness %s every %v; grace period %v, preStop %s, stop signal %s\n",
		s.Readiness, s.ProbePeriod, s.Grace, prestop, s.StopSignal)
	lag := fmt.Sprintf("%v–%v", s.LagMin, s.LagMax)
	if s.LagMin == s.LagMax {
		lag = s.LagMin.String()
	}
	fmt.Fprintf(w, "  propagation %s: %s lag per node and change, %d nodes; seed %d\n", s.Profile, lag, s.Nodes, s.Seed)
	fmt.Fprintf(w, "  load %s %s at %d req/s\n", r.Load.Method, r.Load.Path, r.Load.RequestedRate)
	for _, n := range s.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

// WriteText writes the full report of one run.
func (r *Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "== %s ==\n", r.Name)
	fmt.Fprintf(w, "  command: %s\n", strings.Join(r.Settings.Command, " "))
	l := r.Load
	fmt.Fprintf(w, "  load: %d sent in %s (achieved %.1f of %d req/s), %d succeeded, %d failed\n",
		l.Sent, secs(l.Duration), l.AchievedRate, l.RequestedRate, l.Succeeded, l.Failed)
	fmt.Fprintf(w, "  latency: p50 %s, p90 %s, p99 %s, max %s\n", ms(l.Latency.P50), ms(l.Latency.P90), ms(l.Latency.P99), ms(l.Latency.Max))
	if v := r.Verification; v != nil {
		where := v.Store
		if v.Embedded {
			where = "embedded store"
		}
		fmt.Fprintf(w, "  verification: %s %d -> %d in %s: %d counted, %d acknowledged, %d lost, %d duplicated\n",
			v.Key, v.Before, v.After, where, v.Counted, v.Acked, v.Lost, v.Duplicated)
	}
	for _, ro := range r.Rollouts {
		fmt.Fprintf(w, "  rollout %d: +%s -> +%s (%s)\n", ro.Index, secs(ro.Started), secs(ro.Completed), secs(ro.Completed-ro.Started))
	}
	if r.RolloutError != "" {
		fmt.Fprintf(w, "  rollout error: %s\n", r.RolloutError)
	}
	fmt.Fprintf(w, "  max observed propagation lag of a deletion: %s\n", ms(r.MaxLag))

	if l.Failed > 0 {
		fmt.Fprintln(w, "\n  failures by class (replica ×count; first and last moment):")
		for _, class := range Classes {
			var fs []Failure
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
			fmt.Fprintf(w, "    %-8s %5d  %s\n", class, len(fs), strings.Join(parts, ", "))
			fmt.Fprintf(w, "             first %s at +%s: %s\n", fs[0].Replica, secs(fs[0].At), fs[0].Moment)
			if len(fs) > 1 {
				lf := fs[len(fs)-1]
				fmt.Fprintf(w, "             last  %s at +%s: %s\n", lf.Replica, secs(lf.At), lf.Moment)
			}
			fmt.Fprintf(w, "             e.g. %s\n", example(fs[0]))
		}
	}
	if len(r.Causes) > 0 {
		fmt.Fprintln(w, "\n  attribution:")
		for _, c := range r.Causes {
			reps := ""
			if len(c.Replicas) > 0 {
				reps = " [" + strings.Join(c.Replicas, ", ") + "]"
			}
			fmt.Fprintf(w, "    %5d  %s%s\n", c.Count, c.Key, reps)
			fmt.Fprintf(w, "           %s\n", c.Explanation)
		}
		fmt.Fprintln(w, "\n  advice:")
		for _, a := range r.Advice {
			fmt.Fprintf(w, "    - %s\n", a)
		}
	}

	fmt.Fprintln(w, "\n  replicas (times since the start of the drill):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    name\tstarted\tready\tdeleted\tsignal\tSIGKILL\texited\thow\treadiness after signal\tserved\tfailed")
	for _, rp := range r.Replicas {
		how := "running at the end"
		if rp.Exited > 0 {
			how = exitText(rp.Lifecycle)
			if rp.Unexpected {
				how += " (not deleted)"
			}
		}
		if rp.StoppedAtEnd {
			how = "ran to the end"
		}
		sig := secs(rp.SignalSent)
		if rp.SignalSent > 0 {
			sig += " " + rp.Signal
		}
		ready := rp.Readiness
		switch ready {
		case "went-unready":
			ready = "went non-2xx (ok)"
		case "stayed-ready":
			ready = "STAYED 2xx"
		case "no-answer":
			ready = "no answer"
		case "":
			ready = "-"
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", rp.Name, secs(rp.Started), secs(rp.Ready),
			secs(rp.Terminating), sig, secs(rp.Killed), secs(rp.Exited), how, ready, rp.Served, rp.Failed)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n  verdict: %s\n", r.Verdict())
}

func example(f Failure) string {
	s := f.Error
	if s == "" {
		s = fmt.Sprintf("HTTP %d", f.Code)
	}
	conn := "new connection"
	if f.Reused {
		conn = "reused keep-alive connection"
	}
	return fmt.Sprintf("%s (%s, request %s)", s, conn, f.ID)
}

// WriteComparison writes the side-by-side verdict of several runs (the
// demo: naive, then lameduck).
func WriteComparison(w io.Writer, runs []*Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	row := func(label string, f func(*Result) string) {
		fmt.Fprintf(tw, "%s\t", label)
		for _, r := range runs {
			fmt.Fprintf(tw, "%s\t", f(r))
		}
		fmt.Fprintln(tw)
	}
	row("", func(r *Result) string { return r.Name })
	row("requests sent", func(r *Result) string { return fmt.Sprint(r.Load.Sent) })
	row("succeeded (2xx)", func(r *Result) string { return fmt.Sprint(r.Load.Succeeded) })
	row("failed", func(r *Result) string { return fmt.Sprint(r.Load.Failed) })
	for _, c := range Classes {
		row("  "+c, func(r *Result) string { return fmt.Sprint(r.Load.ByClass[c]) })
	}
	row("acked but lost", func(r *Result) string {
		if r.Verification == nil {
			return "-"
		}
		return fmt.Sprint(r.Verification.Lost)
	})
	row("duplicated", func(r *Result) string {
		if r.Verification == nil {
			return "-"
		}
		return fmt.Sprint(r.Verification.Duplicated)
	})
	row("counter", func(r *Result) string {
		if r.Verification == nil {
			return "-"
		}
		return fmt.Sprintf("%d of %d", r.Verification.Counted, r.Verification.Acked)
	})
	row("rollout time", func(r *Result) string { return secs(r.rolloutTime()) })
	row("latency p99", func(r *Result) string { return ms(r.Load.Latency.P99) })
	row("verdict", func(r *Result) string {
		if r.Clean() {
			return "PASS"
		}
		return "FAIL"
	})
	tw.Flush()
}

// progress starts the live status line; the returned func stops it and
// clears the line (safe to call twice).
func (r *runner) progress() func() {
	w := r.cfg.Progress
	if w == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
			r.mu.Lock()
			phase, ld := r.phase, r.load
			r.mu.Unlock()
			line := fmt.Sprintf("%s  +%.1fs  %s", r.cfg.Name, r.since().Seconds(), phase)
			if ld != nil {
				el := time.Since(ld.began).Seconds()
				sent := ld.sent.Load()
				line += fmt.Sprintf("  |  %d sent (%.0f/s), %d ok, %d failed", sent, float64(sent)/max(el, 0.001), ld.ok.Load(), ld.failed.Load())
			}
			fmt.Fprint(w, "\r\033[K"+line)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(stop); <-done })
	}
}
