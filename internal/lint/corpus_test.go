package lint

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// corpusReasons is, for each corpus entry, what expected.txt's reason
// means in lint's terms: the rules that must report an error (exit 1), or
// a text the read error must contain (exit 2). Entries expected to exit 0
// must have no finding at warning level or above.
var corpusReasons = map[string][]string{
	"argo-rollouts-bluegreen":            {RuleNoReadinessProbe},                      // Rollout pod template, served, no readinessProbe
	"argocd-install.yaml":                {RuleNoReadinessProbe, RuleNoDrainDelay},    // dex, redis; argocd-server
	"aws-lbc-2048.yaml":                  {RuleBudgetOrder, RuleNoReadinessProbe},     // 300 s ALB, no preStop
	"gcp-microservices-cartservice.yaml": {RuleLivenessIsReadiness, RuleNoDrainDelay}, // identical grpc probes
	"gcp-microservices-frontend.yaml":    {RuleNoDrainDelay, RuleLivenessIsReadiness}, // probes differ only in a Cookie header
	"gke-load-generator.yaml":            {RuleShellPID1},                             // while loop as PID 1
	"gke-vllm-llama3.yaml":               {"gke-vllm-llama3.yaml:17: malformed YAML"},
	"gke-wordpress-cloudsql.yaml":        {RuleSidecarStopsFirst}, // cloudsql-proxy exits at SIGTERM
	"ingress-nginx-aws.yaml":             {RuleBudgetOrder},       // NLB vs --shutdown-grace-period=0
	"ingress-nginx-kind.yaml":            {RuleZeroGracePeriod},
	"ingress-nginx-vouch-proxy.yaml":     {"is a bool; expected a string"},
	"istio-bookinfo.yaml":                {RuleNoReadinessProbe, RuleNoDrainDelay},
	"k8s-examples-guestbook-go":          {RuleNoReadinessProbe, RuleNoDrainDelay}, // ReplicationController frontend
	"k8s-examples-guestbook.yaml":        {RuleNoReadinessProbe, RuleNoDrainDelay},
	"k8s-website-web.yaml":               {RuleQuitSignal}, // nginx-slim: SIGTERM is nginx's fast shutdown
	"k8s-website-zookeeper.yaml":         {RuleLivenessIsReadiness},
	"otel-demo.yaml":                     {RuleNoReadinessProbe, RuleNoDrainDelay},
	"sockshop-complete-demo.yaml":        {RuleNoReadinessProbe, RuleLivenessIsReadiness},
}

type corpusEntry struct {
	name   string
	code   int
	reason string
}

func readExpected(t *testing.T) []corpusEntry {
	t.Helper()
	f, err := os.Open("testdata/corpus/expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		code, err := strconv.Atoi(f[1])
		if len(f) < 3 || err != nil {
			t.Fatalf("expected.txt: bad line %q", line)
		}
		out = append(out, corpusEntry{f[0], code, f[2]})
	}
	return out
}

// TestCorpus lints 30 real-world manifests from well-known projects
// (testdata/corpus/SOURCES.md) and checks each against expected.txt: the
// exit code "lameduck lint" gives with its default --fail-on error, and
// the reason.
func TestCorpus(t *testing.T) {
	entries := readExpected(t)
	if len(entries) != 30 {
		t.Fatalf("expected.txt has %d entries, want 30", len(entries))
	}
	agree := 0
	for _, e := range entries {
		t.Run(e.name, func(t *testing.T) {
			in := ReadPaths([]string{filepath.Join("testdata/corpus", e.name)}, nil)
			r, err := Check(in, Config{})
			if err != nil {
				t.Fatal(err)
			}
			got := r.ExitCode(Error)
			var lines []string
			for _, f := range r.Findings {
				lines = append(lines, "  "+f.String())
			}
			for _, re := range r.Errors {
				lines = append(lines, "  "+re.Error())
			}
			if got != e.code {
				t.Fatalf("exit %d, want %d (%s); lint said:\n%s", got, e.code, e.reason, strings.Join(lines, "\n"))
			}
			switch e.code {
			case ExitOK:
				// "0 = no real shutdown problem at warning level or above".
				if r.ExitCode(Warning) != ExitOK {
					t.Fatalf("want no finding at warning level or above (%s); lint said:\n%s", e.reason, strings.Join(lines, "\n"))
				}
			case ExitFindings:
				var errs []string
				for _, f := range r.Findings {
					if f.Severity == Error {
						errs = append(errs, f.Rule)
					}
				}
				for _, want := range corpusReasons[e.name] {
					if !slices.Contains(errs, want) {
						t.Errorf("no %s error (%s); lint said:\n%s", want, e.reason, strings.Join(lines, "\n"))
					}
				}
			case ExitInput:
				for _, want := range corpusReasons[e.name] {
					if !strings.Contains(strings.Join(lines, "\n"), want) {
						t.Errorf("read errors lack %q:\n%s", want, strings.Join(lines, "\n"))
					}
				}
			}
			if e.code != ExitOK && len(corpusReasons[e.name]) == 0 {
				t.Errorf("corpusReasons has no reason for %s", e.name)
			}
			if !t.Failed() {
				agree++
			}
		})
	}
	t.Logf("lint agrees with expected.txt on %d of %d corpus entries", agree, len(entries))
}

// TestCorpusAsOneDirectory lints the whole corpus at once, the way
// "lameduck lint DIR" walks a repository: namespace-less objects of
// unrelated files must not be linked (a PDB of one app selecting another
// app's pods), and every finding must be one that linting the entry alone
// gives.
func TestCorpusAsOneDirectory(t *testing.T) {
	key := func(f Finding) string { return f.File + ":" + strconv.Itoa(f.Line) + ":" + f.Rule + ":" + f.Message }
	alone := map[string]bool{}
	for _, e := range readExpected(t) {
		r, err := Check(ReadPaths([]string{filepath.Join("testdata/corpus", e.name)}, nil), Config{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range r.Findings {
			alone[key(f)] = true
		}
	}
	r, err := Check(ReadPaths([]string{"testdata/corpus"}, nil), Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if !alone[key(f)] {
			t.Errorf("finding only when the corpus is linted as one directory: %s", f)
		}
	}
}
