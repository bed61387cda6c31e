package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// markdownFailures is how many failed requests the summary lists per run.
const markdownFailures = 10

// WriteMarkdown writes a summary of t in GitHub-flavoured Markdown, for
// $GITHUB_STEP_SUMMARY: the overall verdict, one table row per run, and
// per run its rollouts, its failures by cause and the first failed
// requests (in a collapsed <details> block).
func WriteMarkdown(w io.Writer, t *Timeline) error {
	bw := bufio.NewWriter(w)
	pass := true
	for _, r := range t.Runs {
		if !r.Pass && !r.Control {
			pass = false
		}
	}
	mark := "✅ PASS"
	if !pass {
		mark = "❌ FAIL"
	}
	fmt.Fprintf(bw, "## %s: %s\n\n", cell(t.Title), mark)
	fmt.Fprintln(bw, "| run | verdict | requests | failed | writes | p99 | max endpoint-removal lag |")
	fmt.Fprintln(bw, "|---|---|---:|---:|---|---:|---:|")
	for _, r := range t.Runs {
		name := r.Name
		if r.Control {
			name += " (control, expected to fail)"
		}
		v := "✅ " + r.Verdict
		if !r.Pass {
			v = "❌ " + r.Verdict
		}
		writes := r.Writes
		if writes == "" {
			writes = "not verified"
		}
		fmt.Fprintf(bw, "| %s | %s | %d | %d (%s) | %s | %s | %s |\n", cell(name), cell(v), r.Sent, r.Failed, percent(r.Failed, r.Sent),
			cell(writes), shortDur(r.P99), shortDur(r.MaxLag))
	}
	for _, r := range t.Runs {
		fmt.Fprintf(bw, "\n### %s\n\n", cell(r.Name))
		if r.Command != "" {
			fmt.Fprintf(bw, "`%s`\n\n", strings.ReplaceAll(r.Command, "`", "'"))
		}
		for _, ro := range r.Rollouts {
			switch {
			case ro.End == 0:
				fmt.Fprintf(bw, "- rollout %d: from %s, did not complete", ro.Index, at(ro.Start))
				if ro.Error != "" {
					fmt.Fprintf(bw, ": %s", cell(ro.Error))
				}
				fmt.Fprintln(bw)
			default:
				fmt.Fprintf(bw, "- rollout %d: %s → %s (%s)\n", ro.Index, at(ro.Start), at(ro.End), shortDur(ro.End-ro.Start))
			}
		}
		for _, n := range r.Notes {
			fmt.Fprintf(bw, "- note: %s\n", cell(n))
		}
		if len(r.Causes) > 0 {
			fmt.Fprintln(bw, "\n| cause | count | explanation | advice |")
			fmt.Fprintln(bw, "|---|---:|---|---|")
			for _, c := range r.Causes {
				fmt.Fprintf(bw, "| `%s` | %d | %s | %s |\n", c.Key, c.Count, cell(c.Explanation), cell(c.Advice))
			}
		}
		if len(r.Failures) > 0 {
			n := min(len(r.Failures), markdownFailures)
			fmt.Fprintf(bw, "\n<details><summary>first %d of %d failed requests</summary>\n\n", n, len(r.Failures))
			fmt.Fprintln(bw, "| sent | replica | class | cause | error |")
			fmt.Fprintln(bw, "|---:|---|---|---|---|")
			for _, fl := range r.Failures[:n] {
				fmt.Fprintf(bw, "| %s | %s | %s | `%s` | %s |\n", at(fl.At), cell(orNone(fl.Replica)), cell(fl.Class), fl.Cause, cell(fl.Error))
			}
			fmt.Fprintln(bw, "\n</details>")
		}
	}
	return bw.Flush()
}

// cell makes s safe inside a Markdown table cell: no pipe, no newline, no
// HTML.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
