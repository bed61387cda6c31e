package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lameduck-dev/lameduck/internal/chromiumtest"
	"github.com/lameduck-dev/lameduck/internal/drill/report"
	"github.com/lameduck-dev/lameduck/internal/redistest"
	"github.com/lameduck-dev/lameduck/internal/render"
	"go.uber.org/goleak"
	"golang.org/x/net/html"
)

// buildCLI builds the lameduck binary: the demo drill re-executes it as
// its replicas.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lameduck")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build the CLI: %v\n%s", err, out)
	}
	return bin
}

// TestReportOfARealDrill runs the demo drill (naive and lameduck, one
// rollout, about 2s of load each, a real redis-server) with --json, --html,
// --junit and --markdown; renders the HTML in headless Chromium and checks
// the DOM against the JSON document: per run the axes, one lane per
// replica, and one failure mark per failed request; `lameduck report`
// renders the same files from the JSON; the JUnit XML validates; a
// screenshot is saved (to $LAMEDUCK_REPORT_SCREENSHOT when set: that is
// how docs/img/report.png is made).
func TestReportOfARealDrill(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after redis-server's cleanup
	chromiumtest.Binary(t)                     // fail early when it is missing
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed: install Debian's libxml2-utils (scripts/test.sh does)")
	}
	srv := redistest.Start(t)
	bin := buildCLI(t)
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }
	cmd := exec.Command(bin, "drill", "--redis", srv.Addr, "--rate", "100", "--duration", "2s",
		"--propagation-lag", "300ms-800ms", "--grace", "5s", "--demo-delay", "300ms",
		"--json", out("r.json"), "--html", out("r.html"), "--junit", out("r.xml"), "--markdown", out("r.md"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out("r.json"))
	if err != nil {
		t.Fatalf("drill exited %d without its JSON: %v\n%s\n%s", code, err, stdout.String(), stderr.String())
	}
	var doc report.Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if code != doc.ExitCode || len(doc.Runs) != 2 {
		t.Fatalf("drill exited %d, its document says %d with %d runs\n%s", code, doc.ExitCode, len(doc.Runs), stderr.String())
	}

	// `lameduck report` renders the same files from the JSON.
	for _, f := range []struct{ flag, name string }{{"--html", "r.html"}, {"--junit", "r.xml"}, {"--markdown", "r.md"}} {
		again := out("again-" + f.name)
		if c, _, errOut := runCLI(t, "", "report", f.flag, again, out("r.json")); c != 0 {
			t.Fatalf("report %s: exit %d: %s", f.flag, c, errOut)
		}
		a, _ := os.ReadFile(out(f.name))
		b, _ := os.ReadFile(again)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("drill %s and report %s differ (%d and %d bytes)", f.flag, f.flag, len(a), len(b))
		}
	}

	if o, err := exec.Command(xmllint, "--noout", "--schema", "../../internal/render/testdata/junit.xsd", out("r.xml")).CombinedOutput(); err != nil {
		t.Errorf("the JUnit XML does not validate: %v\n%s", err, o)
	}
	// JUnit and Markdown agree with the exit code: the verdict run's test
	// cases fail exactly when the drill exits 1; the control's never fail.
	var junit struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	xb, _ := os.ReadFile(out("r.xml"))
	if err := xml.Unmarshal(xb, &junit); err != nil || len(junit.Suites) != len(doc.Runs) {
		t.Fatalf("JUnit: %v, %d suites for %d runs", err, len(junit.Suites), len(doc.Runs))
	}
	if last := junit.Suites[len(junit.Suites)-1]; (last.Failures > 0) != (code == 1) || junit.Suites[0].Failures != 0 {
		t.Errorf("JUnit failures per suite %+v, drill exit %d", junit.Suites, code)
	}
	md, _ := os.ReadFile(out("r.md"))
	if want := map[int]string{0: ": ✅ PASS", 1: ": ❌ FAIL"}[code]; !strings.Contains(strings.SplitN(string(md), "\n", 2)[0], want) {
		t.Errorf("Markdown heading %q, drill exit %d", strings.SplitN(string(md), "\n", 2)[0], code)
	}
	for _, r := range doc.Runs {
		if !strings.Contains(string(md), "### "+r.Name) {
			t.Errorf("the Markdown summary has no section for %s", r.Name)
		}
	}

	// The lanes count what the analysis counted per replica.
	tl := render.FromDrill(doc.Runs)
	for i, run := range doc.Runs {
		served := map[string]int64{}
		for _, rp := range run.Replicas {
			served[rp.Name] = rp.Served
		}
		for _, l := range tl.Runs[i].Lanes {
			if l.Served != served[l.Replica] {
				t.Errorf("%s: lane %s counts %d served, the analysis %d", run.Name, l.Replica, l.Served, served[l.Replica])
			}
		}
	}

	dom := chromiumtest.Parse(t, chromiumtest.DumpDOM(t, "file://"+out("r.html")))
	svgs := chromiumtest.All(dom, chromiumtest.Elem("svg", "timeline"))
	if len(svgs) != len(doc.Runs) {
		t.Fatalf("%d timelines on the page, want one per run (%d)", len(svgs), len(doc.Runs))
	}
	for i, svg := range svgs {
		run := doc.Runs[i]
		for _, pos := range []string{"top", "bottom"} {
			axes := chromiumtest.All(svg, chromiumtest.Elem("g", "axis", pos))
			if len(axes) != 1 || len(chromiumtest.All(axes[0], chromiumtest.Elem("g", "tick"))) < 2 {
				t.Errorf("%s: no %s time axis with ticks", run.Name, pos)
			}
		}
		lanes := chromiumtest.All(svg, chromiumtest.Elem("g", "lane", "replica"))
		want := map[string]bool{}
		for _, rp := range run.Trace.Replicas {
			want[rp.Name] = true
		}
		if len(lanes) != len(want) || len(want) < 6 { // 3 replicas, replaced once
			t.Errorf("%s: %d replica lanes, want one per replica (%d)", run.Name, len(lanes), len(want))
		}
		perLane := map[string]int{}
		for _, fl := range run.Failures {
			perLane[fl.Replica]++
		}
		for _, l := range lanes {
			name := chromiumtest.Attr(l, "data-replica")
			if !want[name] {
				t.Errorf("%s: a lane for %q, which the trace does not have", run.Name, name)
			}
			if got := len(chromiumtest.All(l, isMark)); got != perLane[name] {
				t.Errorf("%s: %d failure marks in %s's lane, %d failures attributed to it", run.Name, got, name, perLane[name])
			}
		}
		marks := len(chromiumtest.All(svg, isMark))
		if int64(marks) != run.Load.Failed || marks != len(run.Failures) {
			t.Errorf("%s: %d failure marks, the drill counted %d failed requests (%d listed)", run.Name, marks, run.Load.Failed, len(run.Failures))
		}
		if l := run.Ledger; l != nil {
			writes := len(chromiumtest.All(svg, func(n *html.Node) bool {
				return n.Data == "use" && n.Parent != nil && chromiumtest.Elem("g", "writes")(n.Parent)
			}))
			if int64(writes) != l.Lost+l.Duplicated || chromiumtest.Attr(svg, "data-write-details") != strconv.Itoa(writes) {
				t.Errorf("%s: %d write marks (%s rows of details); the ledger has %d lost and %d duplicated", run.Name, writes,
					chromiumtest.Attr(svg, "data-write-details"), l.Lost, l.Duplicated)
			}
		}
		if got := chromiumtest.Attr(svg, "data-details"); got != strconv.Itoa(marks) {
			t.Errorf("%s: the page's script read %q rows of failure details for %d marks", run.Name, got, marks)
		}
		t.Logf("%s: %d lanes, %d failure marks, verdict %s", run.Name, len(lanes), marks, run.Verdict.Summary)
	}

	shot := os.Getenv("LAMEDUCK_REPORT_SCREENSHOT")
	if shot == "" {
		shot = out("report.png")
	}
	chromiumtest.Screenshot(t, "file://"+out("r.html")+"#tip", shot, 1200, 2000)
	png, _ := os.ReadFile(shot)
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s is not a PNG", shot)
	}
}

// isMark matches a failure mark: a <use> in a lane's g.fails.
func isMark(n *html.Node) bool {
	if n.Data != "use" {
		return false
	}
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Data == "g" && chromiumtest.Elem("g", "fails")(p) {
			return true
		}
	}
	return false
}

// TestReportUsage: report refuses what it cannot render, and drill an
// output it cannot write, with exit 2 before anything runs.
func TestReportUsage(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema": 1, "runs": [{}]}`), 0o644)
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte(`{"schema": 2, "runs": []}`), 0o644)
	notJSON := filepath.Join(dir, "x.json")
	os.WriteFile(notJSON, []byte(`<html>`), 0o644)
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"report"}, "accepts 1 arg"},
		{[]string{"report", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"report", notJSON}, "is not a drill --json document"},
		{[]string{"report", empty}, "holds no runs"},
		{[]string{"report", bad}, "has schema 1"},
		{[]string{"report", "--html", filepath.Join(dir, "no", "such", "dir.html"), empty}, "holds no runs"},
		// drill checks its outputs before anything runs.
		{[]string{"drill", "--html", filepath.Join(dir, "no", "such", "dir.html")}, "--html: open"},
		{[]string{"drill", "--junit", "-"}, "--junit -: the text report goes to stdout"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.wantErr) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.wantErr)
		}
	}
}
