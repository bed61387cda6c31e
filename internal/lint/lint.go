package lint

import (
	"cmp"
	"fmt"
	"slices"
)

// Config selects what Check reports.
type Config struct {
	// Disable lists rule ids not checked anywhere.
	Disable []string
}

// WorkloadReport is what lint found for one workload.
type WorkloadReport struct {
	Workload *Workload
	// Budgets has one entry per container.
	Budgets  []*Budget
	Findings []Finding
}

// Result is the outcome of a lint run.
type Result struct {
	Workloads []*WorkloadReport
	// Other are findings about objects that are not workloads (a Service
	// or Ingress of a removed apiVersion).
	Other []Finding
	// Findings are all findings, sorted by file and position.
	Findings []Finding
	Skipped  []Skipped
	Errors   []*ReadError
}

// Check runs every enabled rule over the workloads of in.
func Check(in *Input, cfg Config) (*Result, error) {
	off := map[string]bool{}
	for _, id := range cfg.Disable {
		if RuleByID(id) == nil {
			return nil, fmt.Errorf("unknown rule %q (see lameduck lint --list-rules)", id)
		}
		off[id] = true
	}
	res := &Result{Skipped: in.Skipped, Errors: in.Errors}
	m := Organize(in.Objects)
	for _, w := range m.Workloads {
		wr := &WorkloadReport{Workload: w}
		for i := range w.Spec.Containers {
			wr.Budgets = append(wr.Budgets, computeBudget(w, i))
		}
		for _, r := range rules {
			if off[r.ID] || w.Disabled(r.ID) {
				continue
			}
			c := &checker{rule: r, budgets: wr.Budgets}
			r.check(c, w)
			wr.Findings = append(wr.Findings, c.findings...)
		}
		sortFindings(wr.Findings)
		res.Findings = append(res.Findings, wr.Findings...)
		res.Workloads = append(res.Workloads, wr)
	}
	if !off[RuleRemovedAPI] {
		r := RuleByID(RuleRemovedAPI)
		for _, o := range m.Removed {
			if newWorkload(o) != nil {
				continue // reported with the workload
			}
			line, col := o.Pos("apiVersion")
			res.Other = append(res.Other, Finding{Rule: r.ID, Severity: r.Severity, Message: removedMessage(o),
				File: o.File, Line: line, Column: col, Object: o.String()})
		}
		res.Findings = append(res.Findings, res.Other...)
	}
	sortFindings(res.Findings)
	return res, nil
}

func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), cmp.Compare(a.Rule, b.Rule))
	})
}

// Worst returns the highest severity among the findings, or -1 if none.
func (r *Result) Worst() Severity {
	worst := Severity(-1)
	for _, f := range r.Findings {
		worst = max(worst, f.Severity)
	}
	return worst
}

// Count returns how many findings have severity s.
func (r *Result) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Exit codes of "lameduck lint".
const (
	ExitOK       = 0 // no finding at or above the threshold
	ExitFindings = 1 // findings at or above the threshold
	ExitInput    = 2 // unreadable input (or bad flags)
)

// ExitCode is the exit status for a run that fails at threshold: 2 when
// some input could not be read, 1 when a finding is at or above threshold,
// else 0.
func (r *Result) ExitCode(threshold Severity) int {
	switch {
	case len(r.Errors) > 0:
		return ExitInput
	case len(r.Findings) > 0 && r.Worst() >= threshold:
		return ExitFindings
	}
	return ExitOK
}
