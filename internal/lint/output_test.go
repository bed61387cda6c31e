package lint

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func resultOf(t *testing.T, paths ...string) *Result {
	t.Helper()
	r, err := Check(ReadPaths(paths, nil), Config{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var findingLineRE = regexp.MustCompile(`^(\S+):(\d+):(\d+): \[(error|warning|info)\] ([a-z0-9-]+): (.+)$`)

func TestTextOutput(t *testing.T) {
	// Objects link across all inputs by namespace and name, so the files
	// of one run must not reuse names: one fixture, then good.yaml alone.
	r := resultOf(t, "testdata/rules/budget-order.yaml")
	var b bytes.Buffer
	if err := WriteText(&b, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes without Color")
	}
	var findings int
	for _, l := range strings.Split(out, "\n") {
		if findingLineRE.MatchString(l) {
			findings++
		}
	}
	if findings != len(r.Findings) || findings == 0 {
		t.Errorf("%d file:line:col lines for %d findings:\n%s", findings, len(r.Findings), out)
	}
	for _, w := range []string{
		"Deployment shop/web (testdata/rules/budget-order.yaml:2)",
		"load balancer deregistration: 5m (ALB of Ingress web, AWS default; testdata/rules/budget-order.yaml:55)",
		"keeps accepting requests until: T0+10s",
		"application shutdown at SIGTERM: drain 5s + stop 13s + flush 2s + close 3s, ends by T0+28s",
		"SIGKILL at: T0+30s (terminationGracePeriodSeconds)",
		"1 workload(s): 1 error(s), 0 warning(s), 0 info",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("text output lacks %q:\n%s", w, out)
		}
	}
	b.Reset()
	if err := WriteText(&b, resultOf(t, "testdata/good.yaml"), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"  no findings\n", "skipped 1 object(s) lint does not check: ServiceAccount ×1", "1 workload(s): 0 error(s), 0 warning(s), 0 info\n"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("good.yaml text output lacks %q:\n%s", w, b.String())
		}
	}
	b.Reset()
	if err := WriteText(&b, r, TextOptions{Color: true, Quiet: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[31m[error]\x1b[0m") || strings.Contains(b.String(), "workload(s)") {
		t.Errorf("quiet coloured output:\n%s", b.String())
	}
}

func TestJSONOutput(t *testing.T) {
	r := resultOf(t, "testdata/rules/budget-order.yaml")
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Workloads []struct {
			Object     string
			Containers []struct {
				Name         string
				LoadBalancer *struct{ DelaySeconds float64 }
				App          *struct{ TotalSeconds, EndSeconds float64 }
				PreStop      struct{ Kind string }
			}
		}
		Findings []Finding
		Summary  map[string]int
		Errors   []any
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b.String())
	}
	if len(doc.Workloads) != 1 || len(doc.Workloads[0].Containers) != 1 {
		t.Fatalf("workloads: %+v", doc.Workloads)
	}
	c := doc.Workloads[0].Containers[0]
	if c.LoadBalancer == nil || c.LoadBalancer.DelaySeconds != 300 || c.App == nil || c.App.TotalSeconds != 23 || c.App.EndSeconds != 28 || c.PreStop.Kind != "sleep" {
		t.Errorf("container: %+v %+v %+v", c, c.LoadBalancer, c.App)
	}
	if len(doc.Findings) != 1 || doc.Findings[0].Rule != RuleBudgetOrder || doc.Findings[0].Severity != Error || doc.Summary["error"] != 1 || doc.Errors == nil {
		t.Errorf("findings %+v summary %v errors %v", doc.Findings, doc.Summary, doc.Errors)
	}
}

func TestSARIFOutput(t *testing.T) {
	in := ReadPaths([]string{"testdata/rules/pdb-blocks-drain.yaml", "testdata/rules/no-pdb.yaml"}, nil)
	in.Errors = append(in.Errors, &ReadError{File: "bad file.yaml", Line: 3, Column: 5, Msg: "unknown field x"})
	r, err := Check(in, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteSARIF(&b, r); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string
					Rules []struct {
						ID                   string
						DefaultConfiguration struct{ Level string }
					}
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine, StartColumn int }
					}
				}
			}
			Invocations []struct {
				ExecutionSuccessful        bool
				ToolExecutionNotifications []struct {
					Level     string
					Locations []struct {
						PhysicalLocation struct{ ArtifactLocation struct{ URI string } }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("not a SARIF 2.1.0 log: %s", b.String()[:200])
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != len(Rules()) {
		t.Errorf("%d rules in driver, want %d", len(run.Tool.Driver.Rules), len(Rules()))
	}
	if len(run.Results) != 2 {
		t.Fatalf("%d results, want 2 (pdb-blocks-drain, no-pdb)", len(run.Results))
	}
	for _, res := range run.Results {
		rule := run.Tool.Driver.Rules[res.RuleIndex]
		if rule.ID != res.RuleID || rule.DefaultConfiguration.Level != res.Level {
			t.Errorf("result %s points at rule %s (%s), level %s", res.RuleID, rule.ID, rule.DefaultConfiguration.Level, res.Level)
		}
		loc := res.Locations[0].PhysicalLocation
		if !strings.HasPrefix(loc.ArtifactLocation.URI, "testdata/rules/") || loc.Region.StartLine < 1 || loc.Region.StartColumn < 1 {
			t.Errorf("location %+v", loc)
		}
	}
	for _, res := range run.Results {
		if res.RuleID == RuleNoPDB && res.Level != "note" {
			t.Errorf("info finding has level %q, want note", res.Level)
		}
	}
	inv := run.Invocations[0]
	if inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) != 1 ||
		inv.ToolExecutionNotifications[0].Locations[0].PhysicalLocation.ArtifactLocation.URI != "bad%20file.yaml" {
		t.Errorf("invocation %+v", inv)
	}
}

func TestEveryRuleIsExplained(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] || r.Summary == "" || len(r.Explain) < 200 || !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(r.ID) {
			t.Errorf("rule %q: duplicate, or missing summary/explanation", r.ID)
		}
		seen[r.ID] = true
	}
	if len(explanations) != len(Rules()) {
		t.Errorf("%d explanations for %d rules", len(explanations), len(Rules()))
	}
}
