package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// runCLI runs the lameduck command in-process with stdin and returns its
// exit code (as run would), stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	var ee *exitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &ee):
		code = ee.code
		if ee.err != nil {
			errb.WriteString("lameduck: " + ee.err.Error() + "\n")
		}
	default:
		code = 2
		errb.WriteString("lameduck: " + err.Error() + "\n")
	}
	return code, out.String(), errb.String()
}

const rulesDir = "../../internal/lint/testdata/rules/"

func TestLintCLI(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		name    string
		stdin   string
		args    []string
		code    int
		want    []string // in stdout
		wantErr []string // in stderr
		not     []string // not in stdout
	}{
		{name: "deploy/ passes", args: []string{"lint", "../../deploy/"}, code: 0,
			want: []string{"Deployment counter (", "Deployment redis (", "2 workload(s): 0 error(s), 0 warning(s), 0 info"}},
		{name: "a finding fails", args: []string{"lint", rulesDir + "budget-order.yaml"}, code: 1,
			want: []string{"budget-order.yaml:31:11: [error] budget-order: "}},
		{name: "warning below --fail-on error", args: []string{"lint", rulesDir + "single-replica.yaml", "--fail-on", "error"}, code: 0,
			want: []string{"[warning] single-replica"}},
		{name: "a warning does not fail by default", args: []string{"lint", rulesDir + "single-replica.yaml"}, code: 0,
			want: []string{"[warning] single-replica"}},
		{name: "--fail-on warning", args: []string{"lint", rulesDir + "single-replica.yaml", "--fail-on", "warning"}, code: 1},
		{name: "kustomize patches in a directory walk are skipped, not unreadable", args: []string{"lint", "testdata/lint/kustomize"}, code: 0,
			want: []string{"Deployment web (", "partial object (kustomize patch?) ×2", "Kustomization ×2"}},
		{name: "removed apiVersion", stdin: "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\nspec: {backend: {serviceName: web, servicePort: 80}}\n",
			args: []string{"lint", "-"}, code: 1, want: []string{"<stdin>:1:1: [error] removed-api-version: Ingress old uses apiVersion extensions/v1beta1, which Kubernetes stopped serving in 1.22"}},
		{name: "help documents severities, the threshold and the annotations", args: []string{"lint", "--help"}, code: 0,
			want: []string{"error    a shutdown that fails requests", "--fail-on string", `(default "error")`, "lameduck.dev/disable:", "lameduck.dev/shutdown-delay:"}},
		{name: "explain a new rule", args: []string{"lint", "--explain", "sidecar-stops-first"}, code: 0,
			want: []string{"restartPolicy:\nAlways"}},
		{name: "info does not fail by default", args: []string{"lint", rulesDir + "no-pdb.yaml"}, code: 0,
			want: []string{"[info] no-pdb"}},
		{name: "--fail-on info", args: []string{"lint", "--fail-on=info", rulesDir + "no-pdb.yaml"}, code: 1},
		{name: "--fail-on none", args: []string{"lint", rulesDir + "budget-order.yaml", "--fail-on", "none"}, code: 0},
		{name: "--disable", args: []string{"lint", rulesDir + "budget-order.yaml", "--disable", "no-pdb,budget-order"}, code: 0,
			not: []string{"[error]"}},
		{name: "unknown field is unreadable input", args: []string{"lint", "testdata/lint/unknown-field.yaml"}, code: 2,
			want:    []string{"testdata/lint/unknown-field.yaml:13:7: Deployment: unknown field spec.template.spec.terminationGracePeriodSecond; expected a field of the apps/v1 Deployment API"},
			wantErr: []string{"lameduck: lint: 1 unreadable input(s)"}},
		{name: "stdin", stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers: [{name: c, image: i}]\n",
			args: []string{"lint", "-"}, code: 1, want: []string{"<stdin>:5:3: [error] zero-grace-period"}},
		{name: "malformed stdin", stdin: "kind: [\n", args: []string{"lint", "-", "--format", "json"}, code: 2,
			want: []string{`"message": "malformed YAML`}, wantErr: []string{"<stdin>:"}},
		{name: "json after the positional argument", args: []string{"lint", rulesDir + "pdb-blocks-drain.yaml", "--format", "json"}, code: 1,
			want: []string{`"rule": "pdb-blocks-drain"`, `"summary": {`}},
		{name: "sarif", args: []string{"lint", "--format", "sarif", rulesDir + "shell-pid1.yaml"}, code: 1,
			want: []string{`"version": "2.1.0"`, `"ruleId": "shell-pid1"`}},
		{name: "explain", args: []string{"lint", "--explain", "budget-order"}, code: 0,
			want: []string{"LB deregistration delay < preStop (+ drain delay) < application shutdown < terminationGracePeriodSeconds"}},
		{name: "list rules", args: []string{"lint", "--list-rules"}, code: 0, want: []string{"prestop-sleep-no-shell"}},
		{name: "explain unknown", args: []string{"lint", "--explain", "nope"}, code: 2, wantErr: []string{`unknown rule "nope"`}},
		{name: "disable unknown", args: []string{"lint", "--disable", "nope", "../../deploy"}, code: 2, wantErr: []string{`unknown rule "nope"`}},
		{name: "no arguments", args: []string{"lint"}, code: 2, wantErr: []string{"at least one FILE"}},
		{name: "bad format", args: []string{"lint", "--format", "xml", "../../deploy"}, code: 2},
		{name: "missing file", args: []string{"lint", "nope.yaml"}, code: 2, want: []string{"nope.yaml: cannot read: no such file or directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestLintCLIJSONIsValid(t *testing.T) {
	defer goleak.VerifyNone(t)
	_, out, _ := runCLI(t, "", "lint", "../../deploy", "--format", "json")
	var doc map[string]any
	if err := json.NewDecoder(io.Reader(strings.NewReader(out))).Decode(&doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out)
	}
	if ws, _ := doc["workloads"].([]any); len(ws) != 2 {
		t.Fatalf("want 2 workloads in %s", out)
	}
}
