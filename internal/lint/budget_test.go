package lint

import (
	"strings"
	"testing"
	"time"
)

// workload builds a one-container Deployment (and extra documents) and
// returns the budget of its container.
func budgetOf(t *testing.T, container, podSpec, extra string) *Budget {
	t.Helper()
	data := `apiVersion: apps/v1
kind: Deployment
metadata: {name: w}
spec:
  replicas: 2
  selector: {matchLabels: {app: w}}
  template:
    metadata: {labels: {app: w}}
    spec:
` + podSpec + `      containers:
      - name: c
        image: img
` + container + extra
	in := ReadBytes("b.yaml", []byte(data), false)
	if len(in.Errors) > 0 {
		t.Fatalf("read: %v\n%s", in.Errors, data)
	}
	r, err := Check(in, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Workloads) != 1 || len(r.Workloads[0].Budgets) != 1 {
		t.Fatalf("want one workload with one container")
	}
	return r.Workloads[0].Budgets[0]
}

const s = time.Second

func TestBudget(t *testing.T) {
	svc := "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: w\n%s\nspec:\n  selector: {app: w}\n%s  ports: [{port: 80}]\n"
	svcWith := func(annotations, spec string) string {
		return strings.Replace(strings.Replace(svc, "%s", annotations, 1), "%s", spec, 1)
	}
	for _, tc := range []struct {
		name, container, podSpec, extra string
		check                           func(t *testing.T, b *Budget)
	}{
		{name: "native sleep and matching lameduck env",
			podSpec: "      terminationGracePeriodSeconds: 30\n",
			container: `        env: [{name: LAMEDUCK_GRACE_PERIOD, value: "30"}, {name: LAMEDUCK_PRESTOP, value: "5"}]
        lifecycle: {preStop: {sleep: {seconds: 5}}}
`,
			check: func(t *testing.T, b *Budget) {
				want(t, "kind", b.PreStop.Kind, PreStopSleep)
				want(t, "duration", b.PreStop.Duration, 5*s)
				want(t, "total", b.App.Total, 23*s) // 30 − 5 − 2
				want(t, "drain", b.App.DrainDelay, 5*s)
				want(t, "stop", b.App.Stop, 13*s) // 23 − 5 − 2 − 3
				want(t, "serving", b.Serving, 10*s)
				want(t, "end", b.AppEnd, 28*s)
				want(t, "grace set", b.GraceSet, true)
			}},
		{name: "lameduck prestop drain starts the budget at T0",
			container: `        env: [{name: LAMEDUCK_DRAIN_DELAY, value: "8s"}]
        lifecycle: {preStop: {exec: {command: ["/lameduck", "prestop", "drain", "--timeout", "60s"]}}}
`,
			check: func(t *testing.T, b *Budget) {
				want(t, "kind", b.PreStop.Kind, PreStopLameduckDrain)
				want(t, "total", b.App.Total, 28*s) // 30 − 2: no preStop subtracted
				want(t, "stop", b.App.Stop, 15*s)   // 28 − 8 − 2 − 3
				want(t, "duration", b.PreStop.Duration, 23*s)
				want(t, "serving", b.Serving, 8*s)
				want(t, "end", b.AppEnd, 28*s)
				want(t, "grace default", b.GraceSet, false)
			}},
		{name: "httpGet /drain with a timeout",
			container: `        env: [{name: LAMEDUCK_ADMIN_ADDR, value: ":8081"}]
        lifecycle: {preStop: {httpGet: {path: "/drain?timeout=10s", port: 8081}}}
`,
			check: func(t *testing.T, b *Budget) {
				want(t, "kind", b.PreStop.Kind, PreStopHTTPDrain)
				want(t, "duration", b.PreStop.Duration, 10*s)
				want(t, "lameduck", b.Lameduck, true)
			}},
		{name: "lameduck prestop sleep",
			container: `        lifecycle: {preStop: {exec: {command: ["/usr/local/bin/lameduck", "prestop", "sleep", "7s"]}}}
`,
			check: func(t *testing.T, b *Budget) {
				want(t, "kind", b.PreStop.Kind, PreStopLameduckSleep)
				want(t, "hold", b.PreStop.Hold, 7*s)
				want(t, "lameduck", b.Lameduck, false) // a sleep alone says nothing about the server
				want(t, "serving", b.Serving, 7*s)
			}},
		{name: "shell script: sleep then nginx -s quit",
			container: `        lifecycle: {preStop: {exec: {command: ["/bin/sh", "-c", "sleep 5 && nginx -s quit"]}}}
`,
			check: func(t *testing.T, b *Budget) {
				want(t, "kind", b.PreStop.Kind, PreStopExec)
				want(t, "known", b.PreStop.Known, false)
				want(t, "hold", b.PreStop.Hold, 5*s)
				want(t, "quit", b.PreStop.SendsQuit, true)
				want(t, "serving known", b.ServingKnown, false)
				want(t, "notes", len(b.Notes), 1)
			}},
		{name: "shell script of sleeps only",
			container: `        lifecycle: {preStop: {exec: {command: ["sh", "-c", "sleep 2; sleep 3"]}}}
`,
			check: func(t *testing.T, b *Budget) {
				want(t, "kind", b.PreStop.Kind, PreStopExecSleep)
				want(t, "duration", b.PreStop.Duration, 5*s)
				want(t, "shell", b.PreStop.Shell, "sh")
			}},
		{name: "invalid lameduck env",
			container: `        env: [{name: LAMEDUCK_DRAIN_DELAY, value: "40s"}]
`,
			check: func(t *testing.T, b *Budget) {
				if b.AppErr == nil || !strings.Contains(b.AppErr.Error(), "LAMEDUCK_DRAIN_DELAY") {
					t.Errorf("AppErr = %v, want the library's drain delay error", b.AppErr)
				}
			}},
		{name: "env from a secret is noted",
			container: `        env: [{name: LAMEDUCK_DRAIN_TOKEN, valueFrom: {secretKeyRef: {name: s, key: k}}}]
`,
			check: func(t *testing.T, b *Budget) {
				want(t, "lameduck", b.Lameduck, true)
				want(t, "notes", len(b.Notes), 1)
			}},
		{name: "NLB target group attribute",
			extra: svcWith(`  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: "stickiness.enabled=false, deregistration_delay.timeout_seconds=20"`, "  type: LoadBalancer\n"),
			check: func(t *testing.T, b *Budget) {
				want(t, "behind", b.Behind, true)
				if b.LB == nil {
					t.Fatal("no load balancer found")
				}
				want(t, "delay", b.LB.Delay, 20*s)
				want(t, "line", b.LB.Line, 20)
			}},
		{name: "NLB default",
			extra: svcWith(`  annotations: {}`, "  type: LoadBalancer\n  loadBalancerClass: service.k8s.aws/nlb\n"),
			check: func(t *testing.T, b *Budget) {
				if b.LB == nil || b.LB.Delay != AWSDefaultDeregistrationDelay {
					t.Fatalf("LB = %+v, want the AWS default", b.LB)
				}
			}},
		{name: "ALB with the attribute on the Service",
			extra: svcWith(`  annotations: {alb.ingress.kubernetes.io/target-group-attributes: deregistration_delay.timeout_seconds=15}`, "") + `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: w
  annotations: {kubernetes.io/ingress.class: alb}
spec:
  defaultBackend: {service: {name: w, port: {number: 80}}}
`,
			check: func(t *testing.T, b *Budget) {
				if b.LB == nil || b.LB.Delay != 15*s || !strings.Contains(b.LB.Source, "on Service w") {
					t.Fatalf("LB = %+v, want 15s from the Service", b.LB)
				}
			}},
		{name: "ingress-nginx with service-upstream goes through kube-proxy",
			extra: svcWith(`  annotations: {}`, "") + `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: w
  annotations: {nginx.ingress.kubernetes.io/service-upstream: "true"}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: w, port: {number: 80}}}
`,
			check: func(t *testing.T, b *Budget) {
				if b.LB != nil {
					t.Fatalf("LB = %+v, want unknown", b.LB)
				}
				want(t, "behind", b.Behind, true)
			}},
		{name: "a Service in another namespace does not count",
			extra:   strings.Replace(svcWith(`  namespace: other`, ""), "name: w\n", "name: w\n", 1),
			podSpec: "",
			check: func(t *testing.T, b *Budget) {
				// The Deployment has no namespace: it matches any (applied wherever).
				want(t, "behind", b.Behind, true)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, budgetOf(t, tc.container, tc.podSpec, tc.extra))
		})
	}
}

func want[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestParseSleepArg(t *testing.T) {
	for in, w := range map[string]time.Duration{"5": 5 * s, "2.5": 2500 * time.Millisecond, "1m": time.Minute, "10s": 10 * s} {
		if d, ok := parseSleepArg(in); !ok || d != w {
			t.Errorf("parseSleepArg(%q) = %v, %v", in, d, ok)
		}
	}
	for _, in := range []string{"infinity", "-1", "", "NaN", "1e9"} {
		if _, ok := parseSleepArg(in); ok {
			t.Errorf("parseSleepArg(%q) accepted", in)
		}
	}
}

func TestFmtDur(t *testing.T) {
	for d, w := range map[time.Duration]string{0: "0s", 5 * s: "5s", 300 * s: "5m", 90 * s: "1m30s", time.Hour: "1h", 1500 * time.Millisecond: "1.5s"} {
		if got := fmtDur(d); got != w {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, w)
		}
	}
}
