package lint

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// This file holds the rules about Kubernetes API versions, sidecars, stop
// signals, keep-alive timeouts and lint's own annotations.

// removedMessage says what to do about an object of a removed apiVersion.
func removedMessage(o *Object) string {
	return fmt.Sprintf("%s uses apiVersion %s, which Kubernetes stopped serving in %s: the API server rejects it; use %s (lint checked it as %s)",
		o.String(), o.APIVersion, o.Removed, checkedKinds[o.Kind].apiVersion, checkedKinds[o.Kind].apiVersion)
}

func checkRemovedAPI(c *checker, w *Workload) {
	if w.Removed != "" {
		c.report(w, "", "apiVersion", "%s", removedMessage(w.Object))
	}
}

// outboundProxies are images of proxies a main container reaches its
// database or backend through: they exit at SIGTERM unless told to wait.
var outboundProxies = []string{"cloudsql-docker/gce-proxy", "cloud-sql-proxy", "cloudsql-proxy", "cloud_sql_proxy", "alloydb-auth-proxy"}

func outboundProxy(ct *corev1.Container) bool {
	s := strings.ToLower(ct.Image + " " + strings.Join(ct.Command, " "))
	for _, p := range outboundProxies {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func checkSidecarStopsFirst(c *checker, w *Workload) {
	if len(w.Spec.Containers) < 2 || graceZero(w) {
		return
	}
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if !outboundProxy(ct) || ct.Lifecycle != nil && ct.Lifecycle.PreStop != nil {
			return
		}
		args := argv(ct)
		for _, f := range []string{"term_timeout", "term-timeout", "max-sigterm-delay"} {
			if _, ok := flagValue(args, f); ok {
				return
			}
		}
		var others []string
		for j := range w.Spec.Containers {
			if j != i {
				others = append(others, w.Spec.Containers[j].Name)
			}
		}
		c.report(w, ct.Name, w.containerPath(i),
			"container %s is a proxy run as a regular container: at pod deletion it gets SIGTERM together with %s and exits at once, while %s may still be finishing requests that need it; make it a native sidecar (move it to initContainers with restartPolicy: Always, Kubernetes ≥ 1.29: the kubelet stops it only after the main containers have exited) or make it wait (--max-sigterm-delay for cloud-sql-proxy v2, -term_timeout for v1)",
			ct.Name, strings.Join(others, ", "), strings.Join(others, ", "))
	})
}

func checkStopSignal(c *checker, w *Workload) {
	check := func(ct *corev1.Container, field string, b *Budget) {
		if ct.Lifecycle == nil || ct.Lifecycle.StopSignal == nil {
			return
		}
		sig := *ct.Lifecycle.StopSignal
		switch {
		case w.Spec.OS == nil || w.Spec.OS.Name == "":
			c.report(w, ct.Name, field+".lifecycle.stopSignal",
				"container %s sets lifecycle.stopSignal: %s but the pod has no spec.os.name: the API server rejects the pod; add spec.os.name: linux",
				ct.Name, sig)
		case sig == corev1.SIGKILL:
			c.report(w, ct.Name, field+".lifecycle.stopSignal",
				"container %s: lifecycle.stopSignal: SIGKILL kills it without any graceful stop; remove it (SIGTERM is the default) or use the signal the server drains on",
				ct.Name)
		case b != nil && b.Lameduck && sig != corev1.SIGTERM && sig != corev1.SIGINT:
			c.report(w, ct.Name, field+".lifecycle.stopSignal",
				"container %s runs a lameduck service, which drains on SIGTERM and SIGINT, but lifecycle.stopSignal is %s (for a Go program SIGQUIT means: dump goroutines and exit 2); remove stopSignal",
				ct.Name, sig)
		}
	}
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) { check(ct, w.containerPath(i), b) })
	for i := range w.Spec.InitContainers {
		check(&w.Spec.InitContainers[i], w.SpecPath+".initContainers["+itoa(i)+"]", nil)
	}
}

// Idle keep-alive timeouts of load balancers in front of a workload.
const (
	// ALBDefaultIdleTimeout is an AWS Application Load Balancer's default
	// idle_timeout.timeout_seconds.
	ALBDefaultIdleTimeout = 60 * time.Second
	// IngressNginxUpstreamKeepalive is ingress-nginx's default
	// upstream-keepalive-timeout: how long it keeps idle connections to
	// pods open for reuse.
	IngressNginxUpstreamKeepalive = 60 * time.Second

	annALBAttrs       = "alb.ingress.kubernetes.io/load-balancer-attributes"
	annELBIdleTimeout = "service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout"
)

// lbIdle returns the longest idle timeout of the load balancers in front of
// w that reuse connections to the pods, as far as the manifests reveal it.
func lbIdle(w *Workload) (time.Duration, string) {
	var best time.Duration
	var src string
	consider := func(d time.Duration, s string) {
		if d > best {
			best, src = d, s
		}
	}
	for _, ing := range w.Ingresses {
		switch ingressClass(ing) {
		case "alb":
			d, s := ALBDefaultIdleTimeout, "ALB of Ingress "+ing.Name+", AWS default idle timeout"
			for _, kv := range strings.Split(ing.I.Annotations[annALBAttrs], ",") {
				k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
				if strings.TrimSpace(k) == "idle_timeout.timeout_seconds" {
					if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
						d, s = seconds(int64(n)), "ALB of Ingress "+ing.Name+", idle_timeout.timeout_seconds="+strconv.Itoa(n)
					}
				}
			}
			consider(d, s)
		case "nginx":
			consider(IngressNginxUpstreamKeepalive, "ingress-nginx of Ingress "+ing.Name+", default upstream-keepalive-timeout")
		}
	}
	for _, s := range w.Services {
		if v, ok := s.S.Annotations[annELBIdleTimeout]; ok && s.S.Spec.Type == corev1.ServiceTypeLoadBalancer {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				consider(seconds(int64(n)), "ELB of Service "+s.Name+", connection idle timeout "+v)
			}
		}
	}
	return best, src
}

// serverIdle returns the server's keep-alive idle timeout when the
// container's command reveals it (gunicorn, uvicorn and their defaults).
func serverIdle(ct *corev1.Container) (time.Duration, string, bool) {
	args := argv(ct)
	if script, ok := isShell(args); ok {
		args = strings.Fields(script)
	}
	for _, e := range ct.Env {
		if e.Name == "GUNICORN_CMD_ARGS" {
			args = append(args, strings.Fields(e.Value)...)
		}
	}
	server := ""
	for _, a := range args {
		switch path.Base(a) {
		case "gunicorn", "uvicorn":
			server = path.Base(a)
		}
		if server != "" {
			break
		}
	}
	read := func(flag string, def time.Duration) (time.Duration, string, bool) {
		if v, ok := flagValue(args, flag); ok {
			if d, ok := parseSleepArg(v); ok {
				return d, server + " --" + flag + " " + v, true
			}
			return 0, "", false
		}
		return def, server + " default keep-alive " + fmtDur(def), true
	}
	switch server {
	case "gunicorn":
		return read("keep-alive", 2*time.Second)
	case "uvicorn":
		return read("timeout-keep-alive", 5*time.Second)
	}
	return 0, "", false
}

func checkIdleTimeout(c *checker, w *Workload) {
	lb, lbSrc := lbIdle(w)
	if lb == 0 {
		return
	}
	c.containers(w, func(i int, ct *corev1.Container, b *Budget) {
		if len(b.Served) == 0 {
			return
		}
		idle, src, ok := serverIdle(ct)
		if !ok || idle > lb {
			return
		}
		c.report(w, ct.Name, w.containerPath(i),
			"container %s closes idle keep-alive connections after %s (%s), but the load balancer keeps them for reuse up to %s (%s): a request it sends on a connection the server is closing fails (502); make the server's keep-alive timeout longer than the load balancer's",
			ct.Name, fmtDur(idle), src, fmtDur(lb), lbSrc)
	})
}

func checkAnnotationInvalid(c *checker, w *Workload) {
	for _, b := range c.budgets {
		if b.OwnErr != nil {
			c.report(w, "", "metadata.annotations", "%v", b.OwnErr)
			return
		}
	}
}
