package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// kubeE2EEnv turns TestKubeDrillEndToEnd on. It needs the single-node cluster
// of scripts/kube (scripts/kube/up.sh); with the variable set and no
// reachable cluster the test fails.
const kubeE2EEnv = "LAMEDUCK_KUBE_E2E"

// TestKubeDrillEndToEnd drives `lameduck drill --kube` on the real cluster
// of scripts/kube with the demo of scripts/kube/manifests/demo.yaml: the
// naive counter loses (exit 1, failed requests or lost writes in its
// report), the lameduck counter loses nothing (exit 0, every acknowledged
// write in the ledger exactly once). The load runs in a pod to the
// Service's ClusterIP; the ledger is read through the Redis Service's
// ClusterIP, which kube-proxy routes on this node.
func TestKubeDrillEndToEnd(t *testing.T) {
	if os.Getenv(kubeE2EEnv) != "1" {
		t.Skipf("%s=1 runs it on the cluster of scripts/kube (scripts/test.sh does)", kubeE2EEnv)
	}
	defer goleak.VerifyNone(t)
	dir := os.Getenv("LAMEDUCK_KUBE_DIR")
	if dir == "" {
		dir = "/var/lib/lameduck-kube"
	}
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		kubeconfig = filepath.Join(dir, "conf", "admin.kubeconfig")
	}
	kubectl := filepath.Join(dir, "bin", "kubectl")
	run := func(timeout time.Duration, name string, args ...string) (int, string, string) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		timer := time.AfterFunc(timeout, func() { _ = cmd.Process.Kill() })
		defer timer.Stop()
		err := cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errb.String()
	}
	// The API server must be at an address of this machine (the bridge
	// up.sh creates): with the cluster down, a connection to it would
	// leave the machine through the default route.
	kc, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatalf("the cluster of scripts/kube is not up (%s=1 needs scripts/kube/up.sh first): %v", kubeE2EEnv, err)
	}
	m := regexp.MustCompile(`server: https://([0-9.]+):`).FindSubmatch(kc)
	if m == nil || !localAddr(string(m[1])) {
		t.Fatalf("the cluster of scripts/kube is not up (%s=1 needs scripts/kube/up.sh first): its kubeconfig names no API server at an address of this machine (%s)", kubeE2EEnv, bytes.TrimSpace(firstMatch(m)))
	}
	if code, out, errs := run(30*time.Second, kubectl, "get", "--raw", "/readyz"); code != 0 {
		t.Fatalf("the cluster of scripts/kube is not reachable (%s=1 needs scripts/kube/up.sh first): exit %d %s%s", kubeE2EEnv, code, out, errs)
	}
	if code, out, errs := run(60*time.Second, kubectl, "apply", "-f", "../../scripts/kube/manifests/demo.yaml"); code != 0 {
		t.Fatalf("kubectl apply: exit %d %s%s", code, out, errs)
	}
	for _, d := range []string{"redis", "counter-naive", "counter-lameduck", "counter-crashsafe"} {
		if code, out, errs := run(200*time.Second, kubectl, "-n", "lameduck-e2e", "rollout", "status", "deploy/"+d, "--timeout=180s"); code != 0 {
			t.Fatalf("deploy/%s not ready: exit %d %s%s", d, code, out, errs)
		}
	}
	bin := filepath.Join(t.TempDir(), "lameduck")
	if code, out, errs := run(10*time.Minute, "go", "build", "-o", bin, "."); code != 0 {
		t.Fatalf("go build: exit %d %s%s", code, out, errs)
	}

	type doc struct {
		Runs []struct {
			Verdict struct {
				Pass    bool   `json:"pass"`
				Summary string `json:"summary"`
			} `json:"verdict"`
			Load struct {
				Sent    int            `json:"sent"`
				Failed  int            `json:"failed"`
				ByClass map[string]int `json:"by_class"`
			} `json:"load"`
			Ledger *struct {
				Acked      int `json:"acked"`
				Committed  int `json:"committed"`
				Lost       int `json:"lost"`
				Duplicated int `json:"duplicated"`
			} `json:"ledger"`
			Retry *struct {
				Requests int64 `json:"requests"`
				Attempts int64 `json:"attempts"`
			} `json:"retry"`
			Chaos *struct {
				Kills []struct {
					Replicas     []string `json:"replicas"`
					Replacements []string `json:"replacements"`
					Failed       int64    `json:"failed"`
					Retried      int64    `json:"retried"`
					Lost         int64    `json:"lost"`
					Duplicated   int64    `json:"duplicated"`
				} `json:"kills"`
			} `json:"chaos"`
			Replicas []e2eReplica `json:"replicas"`
			Causes   []struct {
				Key   string `json:"key"`
				Count int64  `json:"count"`
			} `json:"causes"`
		} `json:"runs"`
		ExitCode int `json:"exit_code"`
	}
	drill := func(workload string, extra ...string) (int, doc, string) {
		js := filepath.Join(t.TempDir(), "drill.json")
		start := time.Now()
		args := append([]string{"drill", "--kube", "--kubeconfig", kubeconfig, "-n", "lameduck-e2e", workload,
			"--load-image", "lameduck.local/lameduck:1", "--load-pull-never", "--duration", "25s",
			"--ledger", "redis:drill:ledger", "--redis", "10.96.100.10:6379", "--json", js}, extra...)
		code, out, errs := run(5*time.Minute, bin, args...)
		t.Logf("%s %v: exit %d after %s", workload, extra, code, time.Since(start).Round(100*time.Millisecond))
		var d doc
		b, err := os.ReadFile(js)
		if err != nil {
			t.Fatalf("%s: exit %d, no --json: %v\n%s%s", workload, code, err, out, errs)
		}
		if err := json.Unmarshal(b, &d); err != nil || len(d.Runs) != 1 || d.Runs[0].Ledger == nil {
			t.Fatalf("%s: --json: %v (%d runs)\n%s", workload, err, len(d.Runs), b)
		}
		return code, d, out + errs
	}

	code, d, out := drill("deployment/counter-naive")
	r := d.Runs[0]
	t.Logf("naive: %s; sent %d, failed %d %v, acknowledged %d, committed %d, lost %d", r.Verdict.Summary, r.Load.Sent, r.Load.Failed, r.Load.ByClass, r.Ledger.Acked, r.Ledger.Committed, r.Ledger.Lost)
	if code != 1 || r.Verdict.Pass || r.Load.Failed+r.Ledger.Lost == 0 || d.ExitCode != 1 {
		t.Errorf("naive: exit %d, %d failed, %d lost; want exit 1 with failures or losses\n%s", code, r.Load.Failed, r.Ledger.Lost, out)
	}
	// The trace holds the rollout as the watches saw it: 3 old pods
	// deleted, 3 new ones.
	var old, deleted, created int
	for _, rp := range r.Replicas {
		switch {
		case rp.Revision == 0:
			old++
			if rp.Terminating > 0 {
				deleted++
			}
		default:
			created++
		}
	}
	if old != 3 || deleted != 3 || created != 3 {
		t.Errorf("naive: %d old pods (%d deleted), %d new; want 3 (3), 3", old, deleted, created)
	}
	checkServedAndLogs(t, "naive", r.Replicas)
	causes := map[string]int64{}
	for _, c := range r.Causes {
		causes[c.Key] = c.Count
	}
	t.Logf("naive: causes %v", causes)
	// The answers name their pods, so the naive demo's failures and losses
	// carry the local drill's causes: failures on keep-alive connections
	// are tied to the pod that answered on them, lost writes to the pod
	// that acknowledged them (lost at its exit); only a new connection that
	// failed before any answer stays unattributed, as itself.
	if causes["other"] > 0 || causes["acknowledged-write-lost"] > 0 {
		t.Errorf("naive: causes %v: want no failure attributed other and no write plain acknowledged-write-lost", causes)
	}

	code, d, out = drill("deployment/counter-lameduck")
	r = d.Runs[0]
	t.Logf("lameduck: %s; sent %d, failed %d %v, acknowledged %d, committed %d, lost %d", r.Verdict.Summary, r.Load.Sent, r.Load.Failed, r.Load.ByClass, r.Ledger.Acked, r.Ledger.Committed, r.Ledger.Lost)
	if code != 0 || !r.Verdict.Pass || r.Load.Failed != 0 || r.Ledger.Lost != 0 || r.Ledger.Acked == 0 || r.Ledger.Committed != r.Ledger.Acked {
		t.Errorf("lameduck: exit %d, %d of %d failed, ledger %+v; want exit 0, nothing failed or lost\n%s", code, r.Load.Failed, r.Load.Sent, *r.Ledger, out)
	}
	checkServedAndLogs(t, "lameduck", r.Replicas)

	// --chaos on the cluster: one node kill at a seeded moment of the
	// rollout: every pod of the workload on the (single) node gets a real
	// SIGKILL from the agent pod at once, so the kill surely hits the pods
	// that carry the load. The naive demo loses the writes it acknowledged
	// and had not committed, and the report ties them to the kill.
	chaosArgs := []string{"--rate", "50", "--chaos", "1", "--chaos-scope", "node", "--chaos-window", "8s", "--seed", "3"}
	code, d, out = drill("deployment/counter-naive", chaosArgs...)
	r = d.Runs[0]
	causes = map[string]int64{}
	for _, c := range r.Causes {
		causes[c.Key] = c.Count
	}
	t.Logf("naive --chaos: %s; failed %d %v, lost %d; causes %v", r.Verdict.Summary, r.Load.Failed, r.Load.ByClass, r.Ledger.Lost, causes)
	if code != 1 || r.Chaos == nil || len(r.Chaos.Kills) != 1 || len(r.Chaos.Kills[0].Replicas) < 3 {
		t.Fatalf("naive --chaos: exit %d, chaos %+v; want exit 1 and one kill of every pod (3 or more)\n%s", code, r.Chaos, out)
	}
	k := r.Chaos.Kills[0]
	if k.Lost == 0 || causes["acknowledged-write-lost-at-sigkill"] != k.Lost || causes["sigkilled-by-chaos"] != int64(len(k.Replicas)) || causes["other"] > 0 {
		t.Errorf("naive --chaos: kill %+v, causes %v: want the writes lost at the SIGKILL tied to the kill\n%s", k, causes, out)
	}
	// A killed pod of the new revision is restarted in place by the
	// kubelet (the seeded moment falls while new pods run): POD#1.
	var restarted bool
	for _, rp := range r.Replicas {
		restarted = restarted || strings.HasSuffix(rp.Name, "#1")
	}
	if !restarted || len(k.Replacements) == 0 {
		t.Errorf("naive --chaos: no pod restarted in place (replicas %v, replacements %v)", r.Replicas, k.Replacements)
	}

	// The crash-safe demo (the write before the 200, deduplicated by the
	// Idempotency-Key) with the load's retries loses nothing and applies
	// nothing twice under the same kill, although requests had to be
	// retried: cut in flight by the kill (tied to it when an earlier
	// answer on their connection named the pod) or refused while no pod
	// was up (every pod of the workload is killed, and its restart takes
	// about a second): the proof that the kill hit the traffic. The retry
	// budget is wider than --retry's 15s default (retried requests took
	// up to 5.5s on this machine): a slow CI machine restarts pods slower,
	// and this run proves loss and duplication, not the default's margin.
	code, d, out = drill("deployment/counter-crashsafe", append(chaosArgs, "--retry", "--timeout", "30s")...)
	r = d.Runs[0]
	t.Logf("crashsafe --chaos --retry: %s; failed %d, ledger %+v, chaos %+v", r.Verdict.Summary, r.Load.Failed, *r.Ledger, r.Chaos)
	if code != 0 || !r.Verdict.Pass || r.Load.Failed != 0 || r.Ledger.Lost != 0 || r.Ledger.Duplicated != 0 || r.Ledger.Committed != r.Ledger.Acked ||
		r.Chaos == nil || len(r.Chaos.Kills) != 1 || r.Retry == nil || r.Retry.Requests == 0 {
		t.Errorf("crashsafe --chaos --retry: exit %d, retry %+v; want exit 0, nothing failed, lost or duplicated, and requests retried\n%s", code, r.Retry, out)
	}
	// The agent pods are deleted at the end.
	for deadline := time.Now().Add(60 * time.Second); ; {
		_, pods, _ := run(30*time.Second, kubectl, "-n", "lameduck-e2e", "get", "pods", "-l", "lameduck.dev/drill-chaos", "-o", "name")
		if strings.TrimSpace(pods) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("chaos agent pods left after the drills: %s", pods)
			break
		}
		time.Sleep(time.Second)
	}
}

// e2eReplica is a replica of the --json document.
type e2eReplica struct {
	Name        string `json:"name"`
	Revision    int    `json:"revision"`
	Terminating int64  `json:"terminating"`
	Output      string `json:"output_tail"`
	Served      int64  `json:"served"`
}

// checkServedAndLogs: the load's answers name the pods (X-Lameduck-Pod),
// so every pod that was up during the load served some of it, and every
// pod's log tail was fetched.
func checkServedAndLogs(t *testing.T, name string, reps []e2eReplica) {
	t.Helper()
	var served int64
	for _, r := range reps {
		served += r.Served
		if r.Output == "" {
			t.Errorf("%s: pod %s has no log tail in the trace", name, r.Name)
		}
	}
	if served == 0 {
		t.Errorf("%s: no request was tied to a pod (X-Lameduck-Pod)", name)
	}
}

// localAddr reports whether ip is an address of one of this machine's interfaces.
func localAddr(ip string) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.String() == ip {
			return true
		}
	}
	return false
}

// firstMatch is the matched text of a FindSubmatch result, nil when none.
func firstMatch(m [][]byte) []byte {
	if m == nil {
		return []byte("no server: line")
	}
	return m[0]
}
