package drill

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/analysis"
	"github.com/lameduck-dev/lameduck/internal/drill/backend"
	"github.com/lameduck-dev/lameduck/internal/drill/local"
	"github.com/lameduck-dev/lameduck/internal/drill/pod"
)

// autoReadiness leaves the probe to the drill: admin:/readyz when the
// service answers it, else tcp on PORT.
func autoReadiness(cfg *Config) {
	cfg.Readiness = pod.Probe{Period: 100 * time.Millisecond}
}

// TestSignalIgnoringServiceFails: a service that ignores SIGTERM is
// SIGKILLed at the grace deadline; even if no request failed, that is a
// FAIL. It has no admin port: the drill falls back to a TCP probe.
func TestSignalIgnoringServiceFails(t *testing.T) {
	cfg := smallDrill(t, "ignores SIGTERM", bin, "demo", "--variant", "shutdown", "--fault", "ignore-term", "--delay", "10ms")
	autoReadiness(&cfg)
	cfg.Grace = 2 * time.Second
	cfg.PreStopSleep = 600 * time.Millisecond // the balancers catch up: no request needs to fail
	res := runDrill(t, cfg)
	if res.Verdict.Pass {
		t.Fatalf("PASS for a service that ignored SIGTERM")
	}
	if !strings.Contains(res.Settings.ReadinessNote, "tcp") || res.Settings.Readiness != "tcp" {
		t.Fatalf("readiness %q (%s), want the tcp fallback", res.Settings.Readiness, res.Settings.ReadinessNote)
	}
	if causeCount(res, analysis.CauseSignalIgnored) != 2 {
		t.Fatalf("cause %s for %d replicas, want 2", analysis.CauseSignalIgnored, causeCount(res, analysis.CauseSignalIgnored))
	}
	if !strings.Contains(res.Verdict.Summary, "SIGKILLed") {
		t.Fatalf("verdict %q does not say SIGKILLed", res.Verdict.Summary)
	}
}

// TestServiceAnswering503WhileTerminating: 5xx answers are class 5xx
// (vegeta's error text for a non-2xx answer must not hide the status),
// attributed to the termination.
func TestServiceAnswering503WhileTerminating(t *testing.T) {
	cfg := smallDrill(t, "503 while terminating", bin, "demo", "--variant", "shutdown", "--fault", "503-terminating", "--delay", "10ms")
	autoReadiness(&cfg)
	res := runDrill(t, cfg)
	if res.Verdict.Pass {
		t.Fatal("PASS for a service that answered 503")
	}
	n := res.Load.ByClass[analysis.Class5xx]
	if n == 0 || res.Load.ByClass[analysis.ClassOther] != 0 {
		t.Fatalf("by class %v: want the 503s as 5xx, none as other", res.Load.ByClass)
	}
	if got := causeCount(res, analysis.Cause5xxTerminating); got != int64(n) {
		t.Fatalf("%d attributed to %s, want all %d 5xx", got, analysis.Cause5xxTerminating, n)
	}
	for _, f := range res.Failures {
		if f.Class == analysis.Class5xx && f.Code != 503 {
			t.Errorf("5xx failure %s with code %d", f.ID, f.Code)
		}
	}
}

// TestDroppedAndDuplicatedWritesCaughtByID: every process of this service
// drops its 3rd write and commits its 5th twice, so the counter's net
// count can even come out right; the ledger names both requests.
func TestDroppedAndDuplicatedWritesCaughtByID(t *testing.T) {
	cfg := smallDrill(t, "drops and duplicates", bin, "demo", "--fault", "drop-dup", "--delay", "10ms")
	cfg.Env = append(lameduckEnv, "LAMEDUCK_DRAIN_DELAY=800ms")
	res := runDrill(t, cfg)
	l := res.Ledger
	if res.Verdict.Pass || l == nil {
		t.Fatalf("PASS (ledger %+v) for a service that drops and duplicates writes", l)
	}
	if res.Load.Failed != 0 {
		t.Fatalf("%d requests failed: this service fails none", res.Load.Failed)
	}
	// 4 processes (2 old, 2 new), each with at least 5 writes.
	if l.Lost != 4 || l.Duplicated != 4 || causeCount(res, analysis.CauseLost) != 4 || causeCount(res, analysis.CauseDuplicated) != 4 {
		t.Fatalf("ledger %+v, causes %+v: want 4 lost while running and 4 duplicated", l, res.Causes)
	}
	seen := map[string]int{}
	for _, e := range l.Examples {
		if e.ID == "" || e.Replica == "" || e.Conn == 0 || e.End == 0 {
			t.Errorf("ledger entry without id, replica, connection or time: %+v", e)
		}
		seen[e.Cause]++
	}
	if seen[analysis.CauseLost] != 4 || seen[analysis.CauseDuplicated] != 4 {
		t.Fatalf("examples %+v: want the 4 lost and 4 duplicated requests named", l.Examples)
	}
}

// applyAdvice applies an advice's drill flags to cfg.
func applyAdvice(t *testing.T, cfg *Config, flags []string) {
	t.Helper()
	for i := 0; i < len(flags); i++ {
		switch flags[i] {
		case "--grpc-retry":
			cfg.GRPCRetry = true
			continue
		}
		if i+1 >= len(flags) {
			t.Fatalf("advice flags %q: %s has no value", flags, flags[i])
		}
		v := flags[i+1]
		i++
		switch flags[i-1] {
		case "--prestop-sleep", "--grace":
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("advice flags %q: %v", flags, err)
			}
			if flags[i-1] == "--grace" {
				cfg.Grace = d
			} else {
				cfg.PreStopSleep = d
			}
		case "--env":
			cfg.Env = append(cfg.Env, v)
		default:
			t.Fatalf("advice flag %s: the test does not know it", flags[i-1])
		}
	}
}

// TestAdviceFixesTheService: the usual hand-written service
// (http.Server.Shutdown, no drain delay) fails behind lagging balancers;
// the drill advises a preStop sleep and grace period from what it
// measured, and the same drill with exactly those settings passes.
func TestAdviceFixesTheService(t *testing.T) {
	cfg := smallDrill(t, "Shutdown without drain delay", bin, "demo", "--variant", "shutdown", "--delay", "50ms")
	autoReadiness(&cfg)
	cfg.Profile = Profile{Name: "test", Min: 600 * time.Millisecond, Max: time.Second}
	cfg.Header = map[string][]string{"Connection": {"close"}}
	res := runDrill(t, cfg)
	if res.Verdict.Pass || causeCount(res, analysis.CauseBalancerLag) == 0 {
		t.Fatalf("verdict %q, causes %+v: want failures from the balancer lag", res.Verdict.Summary, res.Causes)
	}
	if len(res.Advice) == 0 || res.Advice[0].Kind != analysis.AdviceKubernetes || len(res.Advice[0].Flags) == 0 {
		t.Fatalf("advice %+v: want a Kubernetes setting first, with its flags", res.Advice)
	}
	for _, a := range res.Advice {
		if a.Kind == analysis.AdviceLameduck || strings.Contains(a.Text, "LAMEDUCK_") {
			t.Fatalf("lameduck advice for a service not built on lameduck: %+v", a)
		}
	}
	fixed := cfg
	applyAdvice(t, &fixed, res.Advice[0].Flags)
	t.Logf("re-running with %q", res.Advice[0].Flags)
	again := runDrill(t, fixed)
	if !again.Verdict.Pass {
		t.Fatalf("the advised settings %q did not fix the service: %s", res.Advice[0].Flags, again.Verdict.Summary)
	}
}

// TestEmptyServiceDuringRollout: one replica, maxSurge 0, maxUnavailable
// 1: the rollout deletes the only replica before its successor is
// ready, and the balancer has nowhere to send requests.
func TestEmptyServiceDuringRollout(t *testing.T) {
	// The naive service dies at once on SIGTERM: the Service is empty
	// until the new replica is ready.
	cfg := smallDrill(t, "no endpoint", bin, "demo", "--naive", "--delay", "10ms")
	cfg.Readiness.Admin, cfg.Readiness.Path = false, "/healthz"
	cfg.Replicas, cfg.MaxSurge, cfg.MaxUnavailable = 1, "0", "1"
	cfg.Profile = Profile{Name: "test", Min: 0, Max: 10 * time.Millisecond}
	// A new connection per request, so that requests meet the empty
	// Service rather than ride a kept connection through the gap.
	cfg.Header = map[string][]string{"Connection": {"close"}}
	res := runDrill(t, cfg)
	if res.Verdict.Pass || causeCount(res, analysis.CauseNoEndpoint) == 0 {
		t.Fatalf("verdict %q, causes %+v: want requests refused for want of an endpoint", res.Verdict.Summary, res.Causes)
	}
}

// TestSlowShutdownOutlastsGrace: a service that does stop on SIGTERM but
// waits for a 3s request, with a 2s grace period, is SIGKILLed: a FAIL
// told apart from an ignored signal, with a grace period advised.
func TestSlowShutdownOutlastsGrace(t *testing.T) {
	cfg := smallDrill(t, "slow shutdown", bin, "demo", "--variant", "shutdown", "--delay", "3s")
	autoReadiness(&cfg)
	cfg.Replicas, cfg.Grace, cfg.Rate, cfg.Timeout = 1, 2*time.Second, 20, 10*time.Second
	cfg.PreStopSleep = 500 * time.Millisecond
	res := runDrill(t, cfg)
	if res.Verdict.Pass || causeCount(res, analysis.CauseShutdownTooSlow) != 1 || causeCount(res, analysis.CauseSignalIgnored) != 0 {
		t.Fatalf("verdict %q, causes %+v: want %s, not %s", res.Verdict.Summary, res.Causes, analysis.CauseShutdownTooSlow, analysis.CauseSignalIgnored)
	}
	var grace []string
	for _, a := range res.Advice {
		if len(a.Flags) == 2 && a.Flags[0] == "--grace" {
			grace = a.Flags
		}
	}
	if grace == nil {
		t.Fatalf("advice %+v: want a longer grace period", res.Advice)
	}
	// The advised grace period, applied, passes.
	fixed := cfg
	applyAdvice(t, &fixed, grace)
	t.Logf("re-running with %q", grace)
	if again := runDrill(t, fixed); !again.Verdict.Pass {
		t.Fatalf("the advised %q did not fix the service: %s", grace, again.Verdict.Summary)
	}
}

// TestDeliberateNonZeroExit: a service that stops cleanly and exits 3 on
// purpose is reported with its own last log line, not as a budget that
// ran out, and nothing fails because of it.
func TestDeliberateNonZeroExit(t *testing.T) {
	cfg := smallDrill(t, "exit 3", bin, "demo", "--variant", "shutdown", "--fault", "exit-3", "--delay", "10ms")
	autoReadiness(&cfg)
	cfg.PreStopSleep = time.Second
	// Shutdown closes idle keep-alive connections under clients (a
	// keep-alive race, not what this test is about): one request per
	// connection.
	cfg.Header = map[string][]string{"Connection": {"close"}}
	res := runDrill(t, cfg)
	if !res.Verdict.Pass {
		t.Fatalf("verdict %q: a clean stop with exit code 3 fails nothing", res.Verdict.Summary)
	}
	var c *analysis.Cause
	for i := range res.Causes {
		if res.Causes[i].Key == analysis.CauseNonZeroExit {
			c = &res.Causes[i]
		}
	}
	if c == nil || len(c.Evidence) == 0 || !strings.Contains(c.Evidence[0], "exiting with code 3 on purpose") {
		t.Fatalf("cause %+v: want the non-zero exit with the service's own log line", c)
	}
	for _, a := range res.Advice {
		if strings.Contains(a.Text, "budget") {
			t.Fatalf("advice reads the exit code as a budget that ran out: %+v", a)
		}
	}
}

// TestProgressLineCut: the live status line never wraps.
func TestProgressLineCut(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  string
	}{
		{"short", 80, "short"},
		{"0123456789", 5, "0123…"},
		{"ééééé", 3, "éé…"},
		{"x", 0, ""},
	} {
		if got := cut(tc.in, tc.width); got != tc.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

// recordingBackend wraps a backend, as a chaos mode or a test double would.
type recordingBackend struct {
	backend.Backend
	mu      sync.Mutex
	deleted []string
}

func (b *recordingBackend) Delete(name string) error {
	b.mu.Lock()
	b.deleted = append(b.deleted, name)
	b.mu.Unlock()
	return b.Backend.Delete(name)
}

func (b *recordingBackend) StopAll() { b.Backend.(interface{ StopAll() }).StopAll() }

// TestBackendSeam: a drill runs against any backend.Backend given in
// Config.Backend; here the local emulation wrapped by a recorder.
func TestBackendSeam(t *testing.T) {
	cfg := smallDrill(t, "wrapped backend", bin, "demo", "--delay", "10ms")
	cfg.Env = append(lameduckEnv, "LAMEDUCK_DRAIN_DELAY=800ms")
	var rb *recordingBackend
	probe := cfg.Readiness
	probe.Timeout, probe.SuccessThreshold, probe.FailureThreshold = time.Second, 1, 3
	cfg.Backend = func(spec BackendSpec) (backend.Backend, error) {
		lb, err := local.New(local.Options{
			Command: cfg.Command, Env: spec.Env, Probe: probe, Grace: cfg.Grace, StopSignal: syscall.SIGTERM,
			Nodes: cfg.Nodes, Lag: spec.Lag, Seed: cfg.Seed, Epoch: spec.Epoch, Events: spec.Events,
		})
		rb = &recordingBackend{Backend: lb}
		return rb, err
	}
	res := runDrill(t, cfg)
	if !res.Verdict.Pass || len(rb.deleted) != 2 {
		t.Fatalf("verdict %q, deleted %q: want a pass through the wrapped backend, 2 deletions", res.Verdict.Summary, rb.deleted)
	}
	for _, rp := range res.Replicas {
		if rp.Revision == 0 && (rp.Terminating == 0 || rp.Exited == 0) {
			t.Errorf("old replica %s not deleted through the backend: %+v", rp.Name, rp.Replica)
		}
	}
}
