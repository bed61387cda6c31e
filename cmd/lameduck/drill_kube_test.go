package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestDrillKubeUsage: --kube's refusals (exit 2, naming the flag) and
// --dry-run, none of which contacts a cluster.
func TestDrillKubeUsage(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deployment/web"}, "--namespace is required"},
		{[]string{"-n", "kube-system", "deployment/web"}, "system namespace"},
		{[]string{"-n", "kube-public", "deployment/web"}, "system namespace"},
		{[]string{"-n", "prod", "daemonset/web"}, "not deployment or statefulset"},
		{[]string{"-n", "prod"}, "give one workload"},
		{[]string{"-n", "prod", "deployment/web", "--replicas", "5"}, "--replicas is for the local drill"},
		{[]string{"-n", "prod", "deployment/web"}, "--load-image is required"},
		{[]string{"-n", "prod", "deployment/web", "--load-image", "x", "--ledger", "redis:k"}, "needs --redis"},
		{[]string{"-n", "prod", "deployment/web", "--load-image", "x", "--rate", "0"}, "--rate 0"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"drill", "--kube"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("drill --kube %v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if code, _, stderr := runCLI(t, "", "drill", "--namespace", "prod"); code != 2 || !strings.Contains(stderr, "--namespace needs --kube") {
		t.Errorf("--namespace without --kube: exit %d, %q", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "", "drill", "--kube", "-n", "prod", "sts/db", "--dry-run")
	if code != 0 || !strings.HasPrefix(stdout, "kubectl patch statefulset/db -n prod --type=strategic -p '") ||
		!strings.Contains(stdout, `"kubectl.kubernetes.io/restartedAt"`) {
		t.Errorf("--dry-run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, stdout, _ := runCLI(t, "", "drill", "--kube", "--help"); code != 0 ||
		!strings.Contains(stdout, "deploy/rbac-drill.yaml") || !strings.Contains(stdout, "kube-system") || !strings.Contains(stdout, "Prerequisites") {
		t.Errorf("--kube --help: exit %d, does not explain prerequisites, RBAC and safety:\n%s", code, stdout)
	}
}

// TestDrillKubeChaosUsage: --chaos with --kube is checked before anything
// contacts a cluster, and --dry-run prints the seeded kill moments, the
// same for the same seed.
func TestDrillKubeChaosUsage(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--chaos-scope", "node"}, "--chaos-scope is for --chaos"},
		{[]string{"--seed", "3"}, "--seed is for --chaos"},
		{[]string{"--chaos", "0"}, "want a count of kills"},
		{[]string{"--chaos", "2/m"}, "want a count of kills"},
		{[]string{"--chaos", "2", "--chaos-scope", "rack"}, "chaos scope \"rack\""},
		{[]string{"--chaos", "2", "--chaos-window", "0"}, "--chaos-window 0s"},
		{[]string{"--chaos", "2", "--chaos-window", "43s"}, "must end before the load does"},
	} {
		args := append([]string{"drill", "--kube", "-n", "prod", "deployment/web", "--load-image", "x"}, c.args...)
		code, _, stderr := runCLI(t, "", args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	plan := func(seed string) string {
		code, stdout, stderr := runCLI(t, "", "drill", "--kube", "-n", "prod", "deployment/web", "--dry-run",
			"--chaos", "3", "--chaos-scope", "node", "--chaos-window", "8s", "--seed", seed)
		if code != 0 {
			t.Fatalf("--dry-run --chaos: exit %d, %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "# --chaos 3 node kills over 8s: SIGKILL to every running pod of the workload on one ready pod's node at +") {
			t.Fatalf("--dry-run --chaos printed %q", stdout)
		}
		return lines[1]
	}
	if a, b, c := plan("3"), plan("3"), plan("4"); a != b || a == c {
		t.Errorf("plans: seed 3 %q, again %q, seed 4 %q: want the same moments for the same seed only", a, b, c)
	}
	if code, stdout, _ := runCLI(t, "", "drill", "--kube", "--help"); code != 0 || !strings.Contains(stdout, "pods/exec") || !strings.Contains(stdout, "hostPID") {
		t.Errorf("--kube --help does not explain --chaos' agent pod and its RBAC:\n%s", stdout)
	}
}

// TestDrillKubeRetry: --retry is accepted with --kube (no cluster is
// contacted with --dry-run and the restart patch), explained in --help, and
// the load pod retries with the local drill's policy.
func TestDrillKubeRetry(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	code, stdout, stderr := runCLI(t, "", "drill", "--kube", "-n", "prod", "deployment/web", "--retry", "--dry-run")
	if code != 0 || !strings.HasPrefix(stdout, "kubectl patch deployment/web -n prod") {
		t.Errorf("--kube --retry --dry-run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Without --dry-run it gets as far as the load image, past the flag check.
	if code, _, stderr := runCLI(t, "", "drill", "--kube", "-n", "prod", "deployment/web", "--retry"); code != 2 || !strings.Contains(stderr, "--load-image is required") {
		t.Errorf("--kube --retry: exit %d, stderr %q; want the --load-image refusal, not --retry's", code, stderr)
	}
	if code, stdout, _ := runCLI(t, "", "drill", "--kube", "--help"); code != 0 || !strings.Contains(stdout, "--retry works on a cluster") {
		t.Errorf("--kube --help does not explain --retry on a cluster:\n%s", stdout)
	}
}
