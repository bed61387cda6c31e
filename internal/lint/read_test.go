package lint

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadErrors(t *testing.T) {
	const dep = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      containers:\n      - name: c\n        image: img\n"
	for _, tc := range []struct {
		name, data string
		walked     bool
		// want: "line:col: substring" of each error, in order.
		want []string
	}{
		{name: "unknown field", data: dep + "        imagePullPolicyy: Always\n",
			want: []string{"13:9: Deployment: unknown field spec.template.spec.containers[0].imagePullPolicyy; expected a field of the apps/v1 Deployment API"}},
		{name: "two unknown fields, second document", data: "# first\n---\n" + dep + "        ports:\n        - containerPort: 80\n          protocoll: TCP\n      restartPolicyy: Always\n",
			want: []string{"17:11: Deployment: unknown field spec.template.spec.containers[0].ports[0].protocoll", "18:7: Deployment: unknown field spec.template.spec.restartPolicyy"}},
		{name: "wrong type", data: strings.Replace(dep, "spec:\n  selector", "spec:\n  replicas: three\n  selector", 1),
			want: []string{"6:3: Deployment: field spec.replicas is a string; expected an integer"}},
		{name: "yaml 1.1 boolean where a string belongs", data: dep + "        env:\n        - {name: X, value: yes}\n",
			want: []string{"14:21: Deployment: field spec.template.spec.containers.env.value is a bool; expected a string"}},
		{name: "duplicate key", data: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nmetadata: {name: b}\n",
			want: []string{`4:1: Service: field metadata is set twice; expected each field once`}},
		{name: "missing kind", data: "apiVersion: v1\nmetadata: {name: a}\n",
			want: []string{"1:1: expected a Kubernetes object: kind is missing"}},
		{name: "neither apiVersion nor kind", data: "replicaCount: 3\n",
			want: []string{"1:1: expected a Kubernetes object with apiVersion and kind, found neither"}},
		{name: "kind not a string", data: "apiVersion: v1\nkind: [Pod]\n",
			want: []string{"2:7: expected kind to be a non-empty string"}},
		{name: "a list, not an object", data: "---\n- a\n- b\n",
			want: []string{"2:1: expected a Kubernetes object (a mapping with apiVersion and kind), found a list"}},
		{name: "malformed yaml", data: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nmetadata: {name: [\n",
			want: []string{"f.yaml:5: malformed YAML"}},
		{name: "tab indentation", data: "apiVersion: v1\nkind: Service\nmetadata:\n\tname: a\n",
			want: []string{"4: malformed YAML"}},
		{name: "binary", data: "\x7fELF\x02\x01\x01\x00\x00",
			want: []string{"binary data (NUL byte at offset 7)"}},
		{name: "invalid utf-8", data: "apiVersion: v1\nkind: \xff\xfe\n",
			want: []string{"2: invalid UTF-8 at offset 21"}},
		{name: "no name", data: "apiVersion: v1\nkind: Service\nspec: {}\n",
			want: []string{"1:1: expected Service to have metadata.name"}},
		{name: "walked: not a manifest is skipped", data: "replicaCount: 3\n", walked: true},
		{name: "empty documents and comments", data: "---\n# nothing\n---\n\n---\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ReadBytes("f.yaml", []byte(tc.data), tc.walked)
			var got []string
			for _, e := range in.Errors {
				got = append(got, e.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i], w)
				}
				if !strings.HasPrefix(got[i], "f.yaml:") {
					t.Errorf("error %d = %q: does not start with the file name", i, got[i])
				}
			}
		})
	}
}

func TestReadTooLarge(t *testing.T) {
	in := ReadBytes("big.yaml", bytes.Repeat([]byte("#"), MaxFileSize+1), false)
	if len(in.Errors) != 1 || !strings.Contains(in.Errors[0].Msg, "larger than 32 MiB") {
		t.Fatalf("got %v", in.Errors)
	}
}

func TestReadSkipsAndLists(t *testing.T) {
	data := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
  spec: {selector: {app: a}, ports: [{port: 80}]}
- apiVersion: v1
  kind: Service
  metadata: {name: b}
  spec: {portz: []}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
`
	in := ReadBytes("l.yaml", []byte(data), false)
	// The ConfigMap is read (lint looks into mounted Corefiles); the Ingress
	// of a removed apiVersion is read and marked.
	if len(in.Objects) != 3 || in.Objects[0].Name != "a" || in.Objects[0].Line != 4 || in.Objects[2].Removed != "1.22" {
		t.Errorf("objects: %+v", in.Objects)
	}
	if len(in.Errors) != 1 || in.Errors[0].Line != 11 || !strings.Contains(in.Errors[0].Msg, "unknown field spec.portz") {
		t.Errorf("errors: %v", in.Errors)
	}
	var skipped []string
	for _, s := range in.Skipped {
		skipped = append(skipped, s.Kind+"@"+itoa(s.Line))
	}
	if got := strings.Join(skipped, " "); got != "Widget@21" {
		t.Errorf("skipped: %s", got)
	}
}

func TestReadPaths(t *testing.T) {
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
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec: {ports: [{port: 80}]}\n"
	write("a.yaml", strings.ReplaceAll(svc, "%s", "a"))
	write("sub/b.yml", strings.ReplaceAll(svc, "%s", "b"))
	write("sub/c.json", `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"}}`)
	write("sub/values.yaml", "replicaCount: 3\n")
	write("kustomization.yaml", "resources: [a.yaml]\n")
	write("README.md", "not yaml: [\n")
	write(".git/x.yaml", "broken: [\n")
	in := ReadPaths([]string{dir, "-", filepath.Join(dir, "missing.yaml")}, strings.NewReader(strings.ReplaceAll(svc, "%s", "stdin")))
	var names []string
	for _, o := range in.Objects {
		names = append(names, o.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,c,stdin" {
		t.Errorf("objects %s, want a,b,c,stdin", got)
	}
	if len(in.Skipped) != 2 {
		t.Errorf("skipped %+v, want kustomization.yaml and values.yaml", in.Skipped)
	}
	if len(in.Errors) != 1 || !strings.Contains(in.Errors[0].Error(), "missing.yaml: cannot read: no such file or directory") {
		t.Errorf("errors %v", in.Errors)
	}
	if in.Objects[3].File != StdinName {
		t.Errorf("stdin object file %q", in.Objects[3].File)
	}
}

func TestSplitDocumentsLikeKubernetes(t *testing.T) {
	docs := splitDocuments([]byte("a: 1\n--- # comment\nb: 2\n---not-a-separator\n---\n"))
	var lines []int
	for _, d := range docs {
		lines = append(lines, d.line)
	}
	if len(docs) != 3 || string(docs[1].data) != "b: 2\n---not-a-separator\n" || lines[1] != 3 || lines[2] != 6 {
		t.Fatalf("docs %+v lines %v", docs, lines)
	}
}
