package lint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func checkFile(t *testing.T, path string, cfg Config) *Result {
	t.Helper()
	in := ReadPaths([]string{path}, nil)
	if len(in.Errors) > 0 {
		t.Fatalf("%s: unexpected read errors: %v", path, in.Errors)
	}
	r, err := Check(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGoodManifestHasNoFindings(t *testing.T) {
	r := checkFile(t, "testdata/good.yaml", Config{})
	if len(r.Findings) != 0 {
		t.Fatalf("good.yaml: want no findings, got:\n%s", findingLines(r.Findings))
	}
	if len(r.Workloads) != 1 || len(r.Skipped) != 1 || r.Skipped[0].Kind != "ServiceAccount" {
		t.Fatalf("good.yaml: want 1 workload and 1 skipped ServiceAccount, got %d workloads, skipped %+v", len(r.Workloads), r.Skipped)
	}
}

func findingLines(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// TestEachRuleHasABadFixture: testdata/rules/<rule-id>.yaml triggers
// exactly that rule, and every rule has such a fixture.
func TestEachRuleHasABadFixture(t *testing.T) {
	files, err := filepath.Glob("testdata/rules/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".yaml")
		covered[id] = true
		t.Run(id, func(t *testing.T) {
			if RuleByID(id) == nil {
				t.Fatalf("fixture %s names no rule", f)
			}
			r := checkFile(t, f, Config{})
			var ids []string
			for _, fd := range r.Findings {
				ids = append(ids, fd.Rule)
				if fd.Line <= 0 || fd.Column <= 0 {
					t.Errorf("finding without position: %s", fd)
				}
			}
			if len(ids) == 0 || slices.ContainsFunc(ids, func(s string) bool { return s != id }) {
				t.Fatalf("want only %s, got:\n%s", id, findingLines(r.Findings))
			}
			// Disabling the rule by flag or by annotation silences it.
			if r := checkFile(t, f, Config{Disable: []string{id}}); len(r.Findings) != 0 {
				t.Errorf("--disable %s: still %d findings", id, len(r.Findings))
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			annotated := strings.Replace(string(data), "kind: Deployment\nmetadata:\n", "kind: Deployment\nmetadata:\n  annotations: {lameduck.dev/disable: \"other-rule, "+id+"\"}\n", 1)
			in := ReadBytes(f, []byte(annotated), false)
			r2, err := Check(in, Config{})
			if err != nil || len(in.Errors) > 0 {
				t.Fatal(err, in.Errors)
			}
			if len(r2.Findings) != 0 {
				t.Errorf("annotation %s: still:\n%s", DisableAnnotation, findingLines(r2.Findings))
			}
		})
	}
	for _, r := range Rules() {
		if !covered[r.ID] {
			t.Errorf("rule %s has no fixture testdata/rules/%s.yaml", r.ID, r.ID)
		}
	}
}

func TestUnknownDisabledRule(t *testing.T) {
	if _, err := Check(&Input{}, Config{Disable: []string{"no-such-rule"}}); err == nil {
		t.Fatal("Check accepted an unknown rule id")
	}
}
