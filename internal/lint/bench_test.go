package lint

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// benchInput builds n blocks like bench/lint-gen.py: good.yaml in its own
// namespace plus a namespace-less Deployment and Service.
func benchInput(tb testing.TB, n int) []byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	good := strings.TrimRight(strings.Split(string(data), "---\napiVersion: v1\nkind: ServiceAccount")[0], "\n-") + "\n"
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString(strings.ReplaceAll(good, "namespace: shop", fmt.Sprintf("namespace: ns%d", i)))
		fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-%[1]d
spec:
  replicas: 2
  selector:
    matchLabels: {app: api-%[1]d}
  template:
    metadata:
      labels: {app: api-%[1]d}
    spec:
      containers:
      - name: api
        image: registry.example.com/api:%[1]d
        ports: [{name: http, containerPort: 8080}]
        lifecycle: {preStop: {sleep: {seconds: 5}}}
        readinessProbe: {httpGet: {path: /readyz, port: http}}
---
apiVersion: v1
kind: Service
metadata:
  name: api-%[1]d
spec:
  selector: {app: api-%[1]d}
  ports: [{port: 80, targetPort: http}]
`, i)
	}
	return []byte(b.String())
}

// BenchmarkReadCheck reads and checks about 1 MB of manifests (400
// blocks, 2,400 objects). bench/lint.md has the end-to-end figures.
func BenchmarkReadCheck(b *testing.B) {
	data := benchInput(b, 400)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		in := ReadBytes("bench.yaml", data, false)
		if len(in.Errors) > 0 {
			b.Fatal(in.Errors[0])
		}
		if _, err := Check(in, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
