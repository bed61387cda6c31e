package drill

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
	"github.com/lameduck-dev/lameduck/internal/drill/report"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/internal/redistest"
	"go.uber.org/goleak"
)

// recordDir, when set (go test -args -record DIR), receives every e2e
// test's trace as DIR/<test name>.json: the analysis package's testdata
// are recorded this way.
var recordDir = flag.String("record", "", "write each end-to-end test's trace to this directory")

var recorded = map[string]int{}

func saveTrace(t *testing.T, tr *trace.Trace) {
	t.Helper()
	if *recordDir == "" {
		return
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(strings.ReplaceAll(t.Name(), "/", "-"), "Test")
	recorded[name]++
	if recorded[name] > 1 {
		name += fmt.Sprintf("-%d", recorded[name])
	}
	if err := os.WriteFile(filepath.Join(*recordDir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// bin is the lameduck CLI, built once for the whole test binary: its
// `demo` subcommand is the service the drills run.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "drilltest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "lameduck")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/lameduck-dev/lameduck/cmd/lameduck").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build the lameduck CLI: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// smallDrill is a drill of a few seconds: 2 replicas, one rollout, short
// delays, a real redis-server.
func smallDrill(t *testing.T, name string, argv ...string) Config {
	t.Helper()
	srv := redistest.Start(t)
	probe, err := ParseReadiness("admin:/readyz")
	if err != nil {
		t.Fatal(err)
	}
	probe.Period = 100 * time.Millisecond
	return Config{
		Name:          name,
		Command:       argv,
		Replicas:      2,
		Rollouts:      1,
		Readiness:     probe,
		Grace:         5 * time.Second,
		Profile:       Profile{Name: "test", Min: 200 * time.Millisecond, Max: 400 * time.Millisecond},
		Nodes:         2,
		Seed:          7,
		Rate:          100,
		Warmup:        500 * time.Millisecond,
		Tail:          300 * time.Millisecond,
		Method:        "POST",
		Path:          "/incr",
		Timeout:       5 * time.Second,
		Workers:       64,
		RedisAddr:     srv.Addr,
		Ledger:        "redis:drill:ledger",
		ExpectCounter: "counter",
		Settle:        time.Second,
		StartTimeout:  20 * time.Second,
	}
}

// lameduckEnv leaves the lameduck demo time to stop within the 5s grace
// period (the library reserves 2s for flushing and 3s for closing by
// default, which would leave nothing for the increments).
var lameduckEnv = []string{"LAMEDUCK_FLUSH_TIMEOUT=500ms", "LAMEDUCK_CLOSE_TIMEOUT=500ms"}

// runDrill runs one drill (runDrillTrace) and returns its analysis.
func runDrill(t *testing.T, cfg Config) *analysis.Result {
	t.Helper()
	_, res := runDrillTrace(t, cfg)
	return res
}

func causeCount(res *analysis.Result, key string) int64 {
	for _, c := range res.Causes {
		if c.Key == key {
			return c.Count
		}
	}
	return 0
}

func reportText(res *analysis.Result) string {
	var b strings.Builder
	report.Text(&b, res)
	return b.String()
}

// TestNaiveServiceLosesAcknowledgedWork: the naive service dies on SIGTERM
// with increments still pending; the drill must see the loss.
func TestNaiveServiceLosesAcknowledgedWork(t *testing.T) {
	cfg := smallDrill(t, "naive", bin, "demo", "--naive", "--delay", "300ms")
	cfg.Readiness.Admin, cfg.Readiness.Path = false, "/healthz"
	res := runDrill(t, cfg)
	if res.Clean() {
		t.Fatalf("the naive service passed the drill:\n%s", reportText(res))
	}
	l := res.Ledger
	if l == nil || l.Acked == 0 || l.Lost == 0 || l.Duplicated != 0 {
		t.Fatalf("ledger = %+v, want acknowledged writes lost:\n%s", l, reportText(res))
	}
	if c := res.Counter; c == nil || c.Missing != l.Lost {
		t.Fatalf("counter = %+v, want %d missing as the ledger says", c, l.Lost)
	}
	if causeCount(res, analysis.CauseLostAtExit) != l.Lost {
		t.Fatalf("cause %s = %d, want %d:\n%s", analysis.CauseLostAtExit, causeCount(res, analysis.CauseLostAtExit), l.Lost, reportText(res))
	}
	if len(l.Examples) == 0 || l.Examples[0].Replica == "" || l.Examples[0].Conn == 0 {
		t.Fatalf("lost requests not named with their replica and connection: %+v", l.Examples)
	}
	deleted := 0
	for _, rp := range res.Replicas {
		if rp.Terminating > 0 {
			deleted++
			if rp.ExitSignal != "SIGTERM" || rp.Killed != 0 {
				t.Errorf("replica %s: exit signal %q, SIGKILL at %v; want killed by SIGTERM at once", rp.Name, rp.ExitSignal, rp.Killed)
			}
		}
	}
	if deleted != 2 {
		t.Fatalf("%d replicas deleted, want 2", deleted)
	}
}

// TestLameduckServiceWithDrainDelayLosesNothing: with a drain delay longer
// than the propagation lag, the lameduck service must come out clean.
func TestLameduckServiceWithDrainDelayLosesNothing(t *testing.T) {
	cfg := smallDrill(t, "lameduck", bin, "demo", "--delay", "300ms")
	cfg.Env = append(lameduckEnv, "LAMEDUCK_DRAIN_DELAY=800ms")
	res := runDrill(t, cfg)
	if !res.Clean() {
		t.Fatalf("the lameduck service failed the drill:\n%s", reportText(res))
	}
	l := res.Ledger
	if l == nil || l.Acked < 100 || l.Committed != l.Acked || l.Lost+l.Duplicated+l.Phantom != 0 {
		t.Fatalf("ledger = %+v, want every acknowledged write committed once:\n%s", l, reportText(res))
	}
	deleted := 0
	for _, rp := range res.Replicas {
		if rp.Terminating == 0 {
			continue
		}
		deleted++
		if rp.ExitCode != 0 || rp.Killed != 0 {
			t.Errorf("replica %s: exit code %d, SIGKILL at %v; want a clean exit", rp.Name, rp.ExitCode, rp.Killed)
		}
		if rp.Readiness != analysis.ReadinessWentUnready {
			t.Errorf("replica %s: readiness while terminating = %q, want went-unready", rp.Name, rp.Readiness)
		}
		if took := rp.Exited - rp.SignalSent; took < 800*time.Millisecond {
			t.Errorf("replica %s exited %v after the signal, before its 800ms drain delay", rp.Name, took)
		}
	}
	if deleted != 2 || len(res.Rollouts) != 1 || res.Rollouts[0].Completed == 0 {
		t.Fatalf("deleted %d replicas, rollouts %+v; want 2 and one completed rollout", deleted, res.Rollouts)
	}
}

// TestNoDrainDelayWhileBalancerLags: the lameduck service without a drain
// delay closes its listener while the balancer still routes to it; the
// drill must count the refused connections and blame the lag. Every
// request opens a new connection (Connection: close), as many clients do.
func TestNoDrainDelayWhileBalancerLags(t *testing.T) {
	cfg := smallDrill(t, "no drain delay", bin, "demo", "--delay", "100ms")
	cfg.Env = append(lameduckEnv, "LAMEDUCK_DRAIN_DELAY=0s")
	cfg.Profile = Profile{Name: "test", Min: 600 * time.Millisecond, Max: time.Second}
	cfg.Header = map[string][]string{"Connection": {"close"}}
	res := runDrill(t, cfg)
	if res.Clean() {
		t.Fatalf("no failures without a drain delay:\n%s", reportText(res))
	}
	if n := res.Load.ByClass[analysis.ClassRefused] + res.Load.ByClass[analysis.ClassReset]; n == 0 {
		t.Fatalf("no refused/reset connections:\n%s", reportText(res))
	}
	if causeCount(res, analysis.CauseBalancerLag) == 0 {
		t.Fatalf("no failure attributed to %s:\n%s", analysis.CauseBalancerLag, reportText(res))
	}
	for _, f := range res.Failures {
		if f.Class == analysis.ClassRefused && f.Replica == "" {
			t.Errorf("refused request %s not tied to a replica", f.ID)
		}
	}
	if l := res.Ledger; l == nil || l.Lost != 0 {
		t.Fatalf("ledger = %+v: lameduck still waits for its tasks, nothing acknowledged may be lost", l)
	}
	var kube, lib bool
	for _, a := range res.Advice {
		kube = kube || (a.Kind == analysis.AdviceKubernetes && strings.Contains(a.Text, "preStop sleep"))
		lib = lib || (a.Kind == analysis.AdviceLameduck && strings.Contains(a.Text, "LAMEDUCK_DRAIN_DELAY="))
	}
	if !kube || !lib || res.Advice[0].Kind != analysis.AdviceKubernetes {
		t.Fatalf("advice %+v: want the preStop sleep first, then the lameduck drain delay", res.Advice)
	}
	// The lameduck way, with exactly the advised numbers, passes.
	for _, a := range res.Advice {
		if a.Kind != analysis.AdviceLameduck {
			continue
		}
		fixed := cfg
		fixed.Env = append([]string(nil), cfg.Env...)
		applyAdvice(t, &fixed, a.Flags)
		t.Logf("re-running with %q", a.Flags)
		if again := runDrill(t, fixed); !again.Verdict.Pass {
			t.Fatalf("the advised %q did not fix the service: %s", a.Flags, again.Verdict.Summary)
		}
		break
	}
}

// TestIgnoredStopSignalIsKilled: a replica whose shell ignores SIGTERM
// dies only on SIGKILL at max(grace - preStop, 2s) after the signal; the
// preStop command gets the process id in POD_PID.
func TestIgnoredStopSignalIsKilled(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	cfg := smallDrill(t, "ignores SIGTERM", "/bin/sh", "-c", "trap '' TERM; "+bin+" demo --naive --delay 10ms")
	cfg.Readiness.Admin, cfg.Readiness.Path = false, "/healthz"
	cfg.Replicas = 1
	cfg.Grace = time.Second
	cfg.PreStopCommand = "echo $POD_PID >> " + pidFile
	res := runDrill(t, cfg)
	var old *analysis.Replica
	for i := range res.Replicas {
		if res.Replicas[i].Terminating > 0 {
			old = &res.Replicas[i]
		}
	}
	if old == nil {
		t.Fatalf("no replica was deleted:\n%s", reportText(res))
	}
	if old.Killed == 0 || old.ExitSignal != "SIGKILL" {
		t.Fatalf("replica %s: SIGKILL at %v, exit signal %q; want killed at the grace deadline", old.Name, old.Killed, old.ExitSignal)
	}
	if after := old.Killed - old.SignalSent; after < 1900*time.Millisecond {
		t.Fatalf("SIGKILL %v after the stop signal, want at least the 2s minimum", after)
	}
	if causeCount(res, analysis.CauseSignalIgnored) != 1 {
		t.Fatalf("cause %s not reported:\n%s", analysis.CauseSignalIgnored, reportText(res))
	}
	if res.Verdict.Pass {
		t.Fatalf("a replica that ignored SIGTERM and was SIGKILLed passed the drill:\n%s", reportText(res))
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("preStop did not run: %v", err)
	}
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(old.PID) {
		t.Fatalf("POD_PID = %q, want %d", got, old.PID)
	}
}

func TestSetupErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var se *SetupError
	// Command not found.
	_, err := Run(ctx, Config{Command: []string{"/nonexistent/service"}})
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "command not found") {
		t.Fatalf("missing command: %v, want a setup error saying command not found", err)
	}
	// Store unreachable.
	_, err = Run(ctx, Config{Command: []string{"/bin/true"}, RedisAddr: "127.0.0.1:1"})
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("bad store: %v, want a setup error saying unreachable", err)
	}
	// A replica that exits at start-up.
	_, err = Run(ctx, Config{Command: []string{"/bin/sh", "-c", "echo broken config >&2; exit 3"}, Replicas: 1,
		Readiness: pod.Probe{Kind: "tcp", Period: 50 * time.Millisecond}})
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "exit code 3") || !strings.Contains(err.Error(), "broken config") {
		t.Fatalf("crashing replica: %v, want a setup error with the exit code and output", err)
	}
	// Invalid configuration.
	_, err = Run(ctx, Config{Command: []string{"/bin/true"}, MaxSurge: "x%"})
	if !errors.As(err, &se) {
		t.Fatalf("invalid maxSurge: %v, want a setup error", err)
	}
}

func TestParseLagAndReadiness(t *testing.T) {
	p, err := ParseLag("500ms-2s")
	if err != nil || p.Min != 500*time.Millisecond || p.Max != 2*time.Second {
		t.Fatalf("ParseLag range = %+v, %v", p, err)
	}
	if p, err = ParseLag("1s"); err != nil || p.Min != time.Second || p.Max != time.Second {
		t.Fatalf("ParseLag fixed = %+v, %v", p, err)
	}
	for _, bad := range []string{"x", "2s-1s", "-1s"} {
		if _, err := ParseLag(bad); err == nil {
			t.Errorf("ParseLag(%q) accepted", bad)
		}
	}
	for in, want := range map[string]string{"tcp": "tcp", "/healthz": "/healthz", "admin:/readyz": "admin:/readyz"} {
		p, err := ParseReadiness(in)
		if err != nil || p.String() != want {
			t.Errorf("ParseReadiness(%q) = %v, %v", in, p, err)
		}
	}
	if _, err := ParseReadiness("readyz"); err == nil {
		t.Error("ParseReadiness accepted a path without /")
	}
	if _, err := LookupProfile("nope"); err == nil {
		t.Error("LookupProfile accepted an unknown profile")
	}
}
