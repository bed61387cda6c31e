package render

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lameduck-dev/lameduck/internal/chromiumtest"
	"golang.org/x/net/html"
)

// TestHTMLInChromium renders a synthetic two-run timeline in headless
// Chromium: every run has its axes, one lane per replica, one mark per
// failure with a row of details, and #tip opens the first failure's
// details. (cmd/lameduck's TestReportOfARealDrill does the same for a real
// drill.)
func TestHTMLInChromium(t *testing.T) {
	tl := synthetic([]string{"naive", "lameduck"}, 6000, 0.2)
	file := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, tl); err != nil {
		t.Fatal(err)
	}
	f.Close()
	page, _ := os.ReadFile(file)
	for _, external := range []string{`src="http`, `href="http`, `src="//`, `href="//`, "@import", "url(http"} {
		if strings.Contains(string(page), external) {
			t.Errorf("the page loads an external resource (%s)", external)
		}
	}
	dom := chromiumtest.Parse(t, chromiumtest.DumpDOM(t, "file://"+file+"#tip"))
	svgs := chromiumtest.All(dom, chromiumtest.Elem("svg", "timeline"))
	if len(svgs) != len(tl.Runs) {
		t.Fatalf("%d timelines, want %d", len(svgs), len(tl.Runs))
	}
	for i, svg := range svgs {
		r := tl.Runs[i]
		for _, pos := range []string{"top", "bottom"} {
			axes := chromiumtest.All(svg, chromiumtest.Elem("g", "axis", pos))
			if len(axes) != 1 || len(chromiumtest.All(axes[0], chromiumtest.Elem("g", "tick"))) < 2 {
				t.Errorf("%s: no %s axis with ticks", r.Name, pos)
			}
		}
		lanes := chromiumtest.All(svg, chromiumtest.Elem("g", "lane", "replica"))
		if len(lanes) != len(r.Lanes) {
			t.Errorf("%s: %d replica lanes, want %d", r.Name, len(lanes), len(r.Lanes))
		}
		for j, l := range lanes {
			if got := chromiumtest.Attr(l, "data-replica"); got != r.Lanes[j].Replica {
				t.Errorf("%s: lane %d is %q, want %q", r.Name, j, got, r.Lanes[j].Replica)
			}
		}
		marks := len(chromiumtest.All(svg, func(n *html.Node) bool { return n.Data == "use" && inFails(n) }))
		if marks != len(r.Failures) || marks == 0 {
			t.Errorf("%s: %d failure marks, want %d (> 0)", r.Name, marks, len(r.Failures))
		}
		writes := len(chromiumtest.All(svg, isWriteMark))
		if writes != len(r.WriteIssues) || chromiumtest.Attr(svg, "data-write-details") != strconv.Itoa(writes) {
			t.Errorf("%s: %d write marks, %s rows of details, want %d", r.Name, writes, chromiumtest.Attr(svg, "data-write-details"), len(r.WriteIssues))
		}
		if got := chromiumtest.Attr(svg, "data-details"); got != strconv.Itoa(len(r.Failures)) {
			t.Errorf("%s: the script read %q rows of failure details, want %d", r.Name, got, len(r.Failures))
		}
	}
	tip := chromiumtest.All(dom, func(n *html.Node) bool { return chromiumtest.Attr(n, "id") == "tip" })
	first := markOrder(tl.Runs[0])[0]
	text := chromiumtest.Text(tip[0])
	for _, want := range []string{"failed request " + first.ID, "cause: " + first.Cause, "class: " + first.Class, "explanation of " + first.Cause} {
		if !strings.Contains(text, want) {
			t.Errorf("the first failure's details lack %q: %q", want, text)
		}
	}
}

func inFails(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Data == "g" && strings.Contains(" "+chromiumtest.Attr(p, "class")+" ", " fails ") {
			return true
		}
	}
	return false
}

func isWriteMark(n *html.Node) bool {
	return n.Data == "use" && n.Parent != nil && chromiumtest.Elem("g", "writes")(n.Parent)
}
