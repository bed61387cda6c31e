package render

import (
	"bytes"
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	tl := synthetic([]string{"naive", "lameduck"}, 3000, 0.3)
	tl.Runs[1].Pass, tl.Runs[1].Verdict, tl.Runs[1].Failures, tl.Runs[1].Failed, tl.Runs[1].Causes = true, "PASS: nothing failed", nil, 0, nil
	tl.Runs[0].Failures[0].Error = "a | pipe\nand <b>html</b>"
	var b bytes.Buffer
	if err := WriteMarkdown(&b, tl); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"## synthetic drill: ✅ PASS", // the control's failure does not fail the drill
		"| naive (control, expected to fail) | ❌ FAIL",
		"| lameduck | ✅ PASS",
		"### naive",
		"| `listener-closed-before-balancer-caught-up` |",
		"<details><summary>first 10 of",
		`a \| pipe and &lt;b&gt;html&lt;/b&gt;`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	// Every table row has as many cells as its header.
	cols := 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row with %d separators under a header with %d: %s", n, cols, line)
		}
	}
	tl.Runs[1].Pass = false
	b.Reset()
	WriteMarkdown(&b, tl)
	if !strings.Contains(b.String(), "## synthetic drill: ❌ FAIL") {
		t.Errorf("a failing non-control run must fail the summary:\n%s", b.String())
	}
}
