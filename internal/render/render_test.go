package render

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// xmllint returns the path of xmllint (Debian's libxml2-utils, installed by
// scripts/test.sh); the test fails, never skips, without it.
func xmllint(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed: install Debian's libxml2-utils (scripts/test.sh does)")
	}
	return p
}

// validateJUnit checks b against testdata/junit.xsd with xmllint.
func validateJUnit(t *testing.T, b []byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint(t), "--noout", "--schema", "testdata/junit.xsd", file).CombinedOutput()
	if err != nil {
		t.Fatalf("JUnit XML does not validate: %v\n%s\n%s", err, out, b)
	}
}

func TestJUnitSchemaRejectsInvalid(t *testing.T) {
	// The validation can fail: a test case without a name is rejected.
	file := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(file, []byte(`<testsuites><testsuite name="x" tests="1" failures="0" errors="0"><testcase classname="c"/></testsuite></testsuites>`), 0o644)
	if out, err := exec.Command(xmllint(t), "--noout", "--schema", "testdata/junit.xsd", file).CombinedOutput(); err == nil {
		t.Fatalf("xmllint accepted a test case without a name:\n%s", out)
	}
}

func TestJUnit(t *testing.T) {
	tl := synthetic([]string{"naive", "lameduck"}, 3000, 0.3)
	var b bytes.Buffer
	if err := WriteJUnit(&b, tl); err != nil {
		t.Fatal(err)
	}
	validateJUnit(t, b.Bytes())
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("%d test suites, want one per run (2)", len(doc.Suites))
	}
	for i, s := range doc.Suites {
		r := tl.Runs[i]
		// One test case per rollout, plus the writes.
		if want := len(r.Rollouts) + 1; s.Tests != want || len(s.Cases) != want {
			t.Errorf("%s: %d tests, %d cases, want %d", s.Name, s.Tests, len(s.Cases), want)
		}
		failedCases := 0
		for _, c := range s.Cases {
			if c.Failure != nil || c.Skipped != nil {
				failedCases++
			}
		}
		if r.Control {
			if s.Skipped != failedCases || s.Failures != 0 {
				t.Errorf("control run %s: %d failures, %d skipped, want 0 and %d", s.Name, s.Failures, s.Skipped, failedCases)
			}
		} else if s.Failures != failedCases || s.Failures == 0 {
			t.Errorf("%s: failures=%d, %d failing cases", s.Name, s.Failures, failedCases)
		}
		// The rollout's case names how many requests failed.
		msg := s.Cases[0].Failure
		if msg == nil {
			msg = s.Cases[0].Skipped
		}
		if want := regexp.MustCompile(`\b` + strconv.FormatInt(r.Failed, 10) + ` requests? failed`); msg == nil || !want.MatchString(msg.Message) {
			t.Errorf("%s: rollout case %+v, want %q", s.Name, msg, want)
		}
	}
	if doc.Failures != doc.Suites[1].Failures || doc.Skipped != doc.Suites[0].Skipped {
		t.Errorf("totals %d failures %d skipped do not add up", doc.Failures, doc.Skipped)
	}
}

func TestJUnitPassingRun(t *testing.T) {
	tl := synthetic([]string{"lameduck"}, 2000, 0)
	var b bytes.Buffer
	if err := WriteJUnit(&b, tl); err != nil {
		t.Fatal(err)
	}
	validateJUnit(t, b.Bytes())
	if strings.Contains(b.String(), "<failure") || strings.Contains(b.String(), "<skipped") {
		t.Fatalf("a clean run has a failure:\n%s", b.String())
	}
	// A run that failed for a reason no test case carries gets a verdict case.
	tl.Runs[0].Pass, tl.Runs[0].Verdict = false, "FAIL: replica r-1 ignored its stop signal"
	b.Reset()
	WriteJUnit(&b, tl)
	validateJUnit(t, b.Bytes())
	if !strings.Contains(b.String(), `<testcase name="verdict"`) || !strings.Contains(b.String(), "ignored its stop signal") {
		t.Fatalf("no failing verdict case:\n%s", b.String())
	}
}
