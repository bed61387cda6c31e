package lint

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// TextOptions control the human-readable output.
type TextOptions struct {
	// Color adds ANSI colours (only on a terminal).
	Color bool
	// Quiet prints findings only, without budgets or the summary.
	Quiet bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// WriteText writes the result grouped by workload: a header, each
// container's termination budget, then the findings as
// "file:line:col: [severity] rule: message" lines, and a summary.
func WriteText(w io.Writer, r *Result, opt TextOptions) error {
	paint := func(code, s string) string {
		if !opt.Color {
			return s
		}
		return code + s + ansiReset
	}
	sevColor := map[Severity]string{Error: ansiRed, Warning: ansiYellow, Info: ansiCyan}
	line := func(f Finding) string {
		return fmt.Sprintf("%s:%d:%d: %s %s: %s", f.File, f.Line, f.Column,
			paint(sevColor[f.Severity], "["+f.Severity.String()+"]"), paint(ansiBold, f.Rule), f.Message)
	}
	var b strings.Builder
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "%s %s\n", paint(ansiRed, "[unreadable]"), e.Error())
	}
	for _, f := range r.Other {
		b.WriteString(line(f) + "\n")
	}
	if len(r.Other) > 0 && !opt.Quiet {
		b.WriteString("\n")
	}
	for _, wr := range r.Workloads {
		if opt.Quiet {
			for _, f := range wr.Findings {
				b.WriteString(line(f) + "\n")
			}
			continue
		}
		wl := wr.Workload
		fmt.Fprintf(&b, "%s %s\n", paint(ansiBold, wl.String()), paint(ansiDim, fmt.Sprintf("(%s:%d)", wl.File, wl.Line)))
		for _, bu := range wr.Budgets {
			fmt.Fprintf(&b, "  container %s, termination budget from T0 (pod deleted):\n", bu.Container)
			for _, l := range bu.Describe() {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
		if len(wr.Findings) == 0 {
			fmt.Fprintf(&b, "  %s\n", paint(ansiDim, "no findings"))
		}
		for _, f := range wr.Findings {
			b.WriteString(line(f) + "\n")
		}
		b.WriteString("\n")
	}
	if !opt.Quiet {
		if len(r.Skipped) > 0 {
			kinds := map[string]int{}
			for _, s := range r.Skipped {
				k := s.Kind
				if k == "" && strings.HasPrefix(s.Reason, "a partial object") {
					k = "partial object (kustomize patch?)"
				} else if k == "" {
					k = "non-Kubernetes document"
				} else if s.APIVersion != "" && !strings.HasPrefix(s.Reason, "kind not checked") {
					k = s.APIVersion + " " + s.Kind
				}
				kinds[k]++
			}
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(kinds)) {
				parts = append(parts, fmt.Sprintf("%s ×%d", k, kinds[k]))
			}
			fmt.Fprintf(&b, "skipped %d object(s) lint does not check: %s (lint checks %s)\n",
				len(r.Skipped), strings.Join(parts, ", "), strings.Join(sortedKinds(), ", "))
		}
		fmt.Fprintf(&b, "%d workload(s): %d error(s), %d warning(s), %d info", len(r.Workloads), r.Count(Error), r.Count(Warning), r.Count(Info))
		if len(r.Errors) > 0 {
			fmt.Fprintf(&b, "; %d unreadable input(s)", len(r.Errors))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
