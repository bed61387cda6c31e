package lint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lintString lints one file's content and returns "rule/severity" of each
// finding.
func lintString(t *testing.T, data string) []string {
	t.Helper()
	in := ReadBytes("s.yaml", []byte(data), false)
	if len(in.Errors) > 0 {
		t.Fatalf("read: %v\n%s", in.Errors, data)
	}
	r, err := Check(in, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Rule+"/"+f.Severity.String())
	}
	return out
}

// deployment is a served Deployment of one container; {{C}} is replaced by
// more container fields, {{P}} by more pod spec fields, {{R}} by the
// replicas line.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
{{R}}  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
{{P}}      containers:
      - name: web
        image: registry.example.com/web:1
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /readyz, port: http}}
{{C}}---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`

func dep(replicas, pod, container string) string {
	return strings.NewReplacer("{{R}}", replicas, "{{P}}", pod, "{{C}}", container).Replace(deployment)
}

const (
	twoReplicas = "  replicas: 2\n"
	preStop5    = "        lifecycle: {preStop: {sleep: {seconds: 5}}}\n"
	pdb         = "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}\n"
)

func TestSemantics(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string // exactly these rule/severity findings, in any order
	}{
		{"baseline: well made", dep(twoReplicas, "", preStop5) + pdb, nil},
		{"no preStop behind a ClusterIP Service", dep(twoReplicas, "", "") + pdb, []string{"no-drain-delay/error"}},
		{"headless Service: nothing to drain",
			strings.Replace(dep(twoReplicas, "", ""), "spec:\n  selector: {app: web}", "spec:\n  clusterIP: None\n  selector: {app: web}", 1) + pdb, nil},
		{"metrics-only Service is not client traffic",
			strings.Replace(dep(twoReplicas, "", ""), "metadata: {name: web}\nspec:\n  selector", "metadata: {name: web-metrics}\nspec:\n  selector", 1) + pdb, nil},
		{"shutdown-delay annotation declares the server's own delay",
			strings.Replace(dep(twoReplicas, "", ""), "metadata: {labels: {app: web}}", "metadata: {labels: {app: web}, annotations: {lameduck.dev/shutdown-delay: 5s}}", 1) + pdb, nil},
		{"shutdown-delay annotation for another container only",
			strings.Replace(dep(twoReplicas, "", ""), "metadata: {labels: {app: web}}", "metadata: {labels: {app: web}, annotations: {lameduck.dev/shutdown-delay: \"proxy=5s\"}}", 1) + pdb,
			[]string{"no-drain-delay/error"}},
		{"podinfo waits 3s by itself", strings.Replace(dep(twoReplicas, "", "        command: [./podinfo, --level=info]\n"), "image: registry.example.com/web:1", "image: ghcr.io/stefanprodan/podinfo:6.14.1", 1) + pdb, nil},
		{"podinfo does not wait at debug level", strings.Replace(dep(twoReplicas, "", "        command: [./podinfo, --level=debug]\n"), "image: registry.example.com/web:1", "image: ghcr.io/stefanprodan/podinfo:6.14.1", 1) + pdb,
			[]string{"no-drain-delay/error"}},
		{"gatekeeper --shutdown-delay is in seconds", strings.Replace(dep(twoReplicas, "", "        args: [--operation=webhook, --shutdown-delay=0]\n"), "image: registry.example.com/web:1", "image: openpolicyagent/gatekeeper:v3.24.0", 1) + pdb,
			[]string{"no-drain-delay/error"}},
		{"single replica behind a Service", dep("  replicas: 1\n", "", preStop5), []string{"single-replica/warning"}},
		{"single replica without a Service is by design",
			strings.Split(dep("  replicas: 1\n", "", preStop5), "---")[0], []string{"no-readiness-probe/info"}[:0]},
		{"HPA minReplicas 1 when replicas is unset", dep("", "", preStop5) +
			"---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 1, maxReplicas: 3}\n",
			[]string{"single-replica/warning"}},
		{"HPA minReplicas 3 when replicas is unset: no PDB is noted", dep("", "", preStop5) +
			"---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 3, maxReplicas: 6}\n",
			[]string{"no-pdb/info"}},
		{"no readiness probe on a served port",
			strings.Replace(dep(twoReplicas, "", preStop5), "        readinessProbe: {httpGet: {path: /readyz, port: http}}\n", "", 1) + pdb,
			[]string{"no-readiness-probe/error"}},
		{"liveness = readiness with a longer liveness window is accepted",
			dep(twoReplicas, "", preStop5+"        livenessProbe: {httpGet: {path: /readyz, port: http}, failureThreshold: 6}\n") + pdb, nil},
		{"liveness = readiness except for a header",
			dep(twoReplicas, "", preStop5+"        livenessProbe: {httpGet: {path: /readyz, port: 8080, httpHeaders: [{name: Cookie, value: x}]}}\n") + pdb,
			[]string{"liveness-equals-readiness/error"}},
		{"bash -c one command is exec'd", dep(twoReplicas, "", preStop5+"        command: [bash, -c, \"/server --id=$(hostname | cut -d- -f2)\"]\n") + pdb, nil},
		{"sh -c one command may not be", dep(twoReplicas, "", preStop5+"        command: [sh, -c, \"/server\"]\n") + pdb, []string{"shell-pid1/warning"}},
		{"continued last line ends in exec", dep(twoReplicas, "", preStop5+"        command: [bash, -c, \"set -e\\nprepare\\nexec /server \\\\\\n  --flag\\n\"]\n") + pdb, nil},
		{"setup then server without exec", dep(twoReplicas, "", preStop5+"        command: [bash, -c, \"prepare; /server\"]\n") + pdb, []string{"shell-pid1/error"}},
		{"a proxy as a native sidecar stops after the app",
			dep(twoReplicas, "      initContainers:\n      - {name: proxy, image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2, restartPolicy: Always}\n", preStop5) + pdb, nil},
		{"an inbound proxy as a native sidecar without readiness probe",
			strings.Replace(dep(twoReplicas, "      initContainers:\n      - {name: proxy, image: envoyproxy/envoy:v1.31, restartPolicy: Always, ports: [{name: public, containerPort: 9000}]}\n", preStop5), "targetPort: http", "targetPort: public", 1) + pdb,
			[]string{"no-readiness-probe/error"}},
		{"nginx told to stop with SIGQUIT", dep(twoReplicas, "      os: {name: linux}\n", preStop5+"        command: [nginx, -g, daemon off;]\n") + pdb,
			[]string{"quit-signal-server/error"}},
		{"nginx with stopSignal SIGQUIT", dep(twoReplicas, "      os: {name: linux}\n", "        lifecycle: {stopSignal: SIGQUIT, preStop: {sleep: {seconds: 5}}}\n        command: [nginx, -g, daemon off;]\n") + pdb, nil},
		{"stopSignal without spec.os.name", dep(twoReplicas, "", "        lifecycle: {stopSignal: SIGQUIT, preStop: {sleep: {seconds: 5}}}\n        command: [nginx, -g, daemon off;]\n") + pdb,
			[]string{"stop-signal/error"}},
		{"gunicorn keep-alive longer than the ALB's idle timeout",
			dep(twoReplicas, "", "        lifecycle: {preStop: {sleep: {seconds: 20}}}\n        command: [gunicorn, --keep-alive, \"75\", app:app]\n") + pdb + albIngress("deregistration_delay.timeout_seconds=10"), nil},
		{"gunicorn's default keep-alive behind an ALB",
			dep(twoReplicas, "", "        lifecycle: {preStop: {sleep: {seconds: 20}}}\n        command: [gunicorn, app:app]\n") + pdb + albIngress("deregistration_delay.timeout_seconds=10"),
			[]string{"idle-timeout/error"}},
		{"idle toolbox pod with grace 0", "apiVersion: v1\nkind: Pod\nmetadata: {name: t}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers: [{name: t, image: busybox, command: [sleep, infinity]}]\n", nil},
		{"ReplicationController is checked", strings.Replace(strings.Replace(dep(twoReplicas, "", ""), "apiVersion: apps/v1\nkind: Deployment", "apiVersion: v1\nkind: ReplicationController", 1), "selector: {matchLabels: {app: web}}", "selector: {app: web}", 1),
			[]string{"no-drain-delay/error", "no-pdb/info"}},
		{"ReplicaSet is checked", strings.Replace(dep(twoReplicas, "", ""), "kind: Deployment", "kind: ReplicaSet", 1),
			[]string{"no-drain-delay/error", "no-pdb/info"}},
		{"Argo Rollout is checked", strings.Replace(dep(twoReplicas, "", ""), "apiVersion: apps/v1\nkind: Deployment", "apiVersion: argoproj.io/v1alpha1\nkind: Rollout", 1),
			[]string{"no-drain-delay/error", "no-pdb/info"}},
		{"removed apiVersion is reported and still checked", strings.Replace(dep(twoReplicas, "", ""), "apiVersion: apps/v1\n", "apiVersion: extensions/v1beta1\n", 1) + pdb,
			[]string{"removed-api-version/error", "no-drain-delay/error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := lintString(t, tc.data)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("findings %v, want %v\n%s", got, want, tc.data)
			}
		})
	}
}

func albIngress(attrs string) string {
	ann := ""
	if attrs != "" {
		ann = "  annotations: {alb.ingress.kubernetes.io/target-group-attributes: \"" + attrs + "\"}\n"
	}
	return "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n" + ann +
		"spec:\n  ingressClassName: alb\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n"
}

// TestALBWithoutPreStopIsNoMilder: a 300 s ALB deregistration with no
// preStop at all must score at least as bad as a short preStop.
func TestALBWithoutPreStopIsNoMilder(t *testing.T) {
	worst := func(data string) Severity {
		in := ReadBytes("a.yaml", []byte(data), false)
		r, err := Check(in, Config{})
		if err != nil || len(in.Errors) > 0 {
			t.Fatal(err, in.Errors)
		}
		return r.Worst()
	}
	none := worst(dep(twoReplicas, "", "") + pdb + albIngress(""))
	short := worst(dep(twoReplicas, "", preStop5) + pdb + albIngress(""))
	if none < short || none != Error {
		t.Fatalf("no preStop: worst %v; 5s preStop: worst %v", none, short)
	}
	got := lintString(t, dep(twoReplicas, "", "")+pdb+albIngress(""))
	if !slices.Contains(got, "budget-order/error") {
		t.Fatalf("no preStop behind a 300 s ALB: %v, want budget-order/error", got)
	}
}

// TestNamespacelessObjectsOfOtherDirectoriesAreNotLinked: a PDB without a
// namespace in one directory does not concern a Deployment without a
// namespace in another.
func TestNamespacelessObjectsOfOtherDirectoriesAreNotLinked(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/web.yaml", dep("  replicas: 1\n", "", preStop5))
	write("b/pdb.yaml", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: other}\nspec: {minAvailable: 2, selector: {matchLabels: {app: web}}}\n")
	r, err := Check(ReadPaths([]string{dir}, nil), Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if f.Rule == RulePDBBlocksDrain {
			t.Fatalf("PDB of another directory linked: %s", f)
		}
	}
	// In the same directory, it is the app's PDB.
	write("a/pdb.yaml", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec: {minAvailable: 2, selector: {matchLabels: {app: web}}}\n")
	r, err = Check(ReadPaths([]string{dir}, nil), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Rule == RulePDBBlocksDrain }) {
		t.Fatalf("PDB of the same directory not linked: %v", r.Findings)
	}
}

func TestShellCommands(t *testing.T) {
	for _, tc := range []struct {
		script string
		last   string
		n      int
	}{
		{"a; b && c || d", "d", 4},
		{"x=$(echo a | tr a b; echo c)\nexec server", "exec server", 2},
		{"echo 'a; b' \"c | d\"", "echo 'a; b' \"c | d\"", 1},
		{"exec ncat --listen \\\n  --keep-open 3307", "exec ncat --listen    --keep-open 3307", 1},
		{"while true; do\n  sleep $(date +%H | awk '{ print \"s(\"$0\"/3*a(1))\" }' | bc -l);\ndone;", "done", 4},
		{"# comment; not a command\nserver", "server", 1},
		{"server &", "server", 1},
	} {
		cmds := shellCommands(tc.script)
		if len(cmds) != tc.n || cmds[len(cmds)-1].text != tc.last {
			t.Errorf("%q: %d commands, last %q; want %d, %q", tc.script, len(cmds), cmds[len(cmds)-1].text, tc.n, tc.last)
		}
	}
}
