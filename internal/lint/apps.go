package lint

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// OwnDelay is how long a server keeps accepting requests after SIGTERM
// on its own (before it closes its listeners), and where lint learnt it.
type OwnDelay struct {
	Delay  time.Duration
	Source string
}

// ownDelay finds what the container's server does between SIGTERM and
// closing its listeners, when the manifests reveal it: the
// lameduck.dev/shutdown-delay annotation, or a server whose own code waits
// (each entry below cites the upstream behaviour it relies on). ok is
// false when nothing is known (most servers stop accepting at SIGTERM).
func ownDelay(w *Workload, ct *corev1.Container) (OwnDelay, bool, error) {
	if v, ok := w.annotation(ShutdownDelayAnnotation); ok {
		d, found, err := parseDelayAnnotation(v, ct.Name)
		if err != nil {
			return OwnDelay{}, false, err
		}
		if found {
			return OwnDelay{d, "annotation " + ShutdownDelayAnnotation}, true, nil
		}
	}
	img := strings.ToLower(ct.Image)
	args := argv(ct)
	switch {
	case strings.Contains(img, "coredns"):
		// CoreDNS's health plugin: "lameduck DURATION" keeps the server
		// running DURATION after SIGTERM while /health already fails.
		for _, vm := range ct.VolumeMounts {
			cm := w.ConfigMaps[vm.Name]
			if cm == nil {
				continue
			}
			for key, data := range cm.Data {
				if m := corefileLameduck.FindStringSubmatch(data); m != nil {
					if d, err := time.ParseDuration(m[1]); err == nil {
						return OwnDelay{d, fmt.Sprintf("CoreDNS health lameduck %s (ConfigMap %s, %s)", m[1], cm.Name, key)}, true, nil
					}
				}
			}
		}
	case strings.Contains(img, "gatekeeper") && !hasArg(args, "--operation=audit"):
		// Gatekeeper (main.go) keeps serving --shutdown-delay seconds
		// (an integer, default 10) after SIGTERM before stopping its
		// manager.
		d, src := 10*time.Second, "Gatekeeper --shutdown-delay default 10 (seconds)"
		if v, ok := flagValue(args, "shutdown-delay"); ok {
			if p, ok := parseSleepArg(v); ok {
				d, src = p, "Gatekeeper --shutdown-delay="+v
			}
		}
		return OwnDelay{d, src}, true, nil
	case strings.Contains(img, "knative.dev/serving/cmd/activator") || strings.Contains(img, "knative.dev/serving/cmd/queue"):
		// Knative's activator and queue-proxy fail readiness and keep
		// serving network.DefaultDrainTimeout (45 s) after SIGTERM.
		return OwnDelay{45 * time.Second, "Knative drain (network.DefaultDrainTimeout 45s)"}, true, nil
	case strings.Contains(img, "stefanprodan/podinfo"):
		// podinfo (pkg/signals/shutdown.go) fails readiness and sleeps 3 s
		// after SIGTERM before shutting its servers down, unless
		// --level=debug.
		if v, ok := flagValue(args, "level"); ok && v == "debug" {
			return OwnDelay{0, "podinfo with --level=debug does not wait"}, true, nil
		}
		return OwnDelay{3 * time.Second, "podinfo waits 3s after SIGTERM"}, true, nil
	case strings.Contains(img, "ingress-nginx/controller"):
		// ingress-nginx waits --shutdown-grace-period seconds (default 0)
		// after SIGTERM before stopping nginx.
		d, src := time.Duration(0), "ingress-nginx --shutdown-grace-period default 0"
		if v, ok := flagValue(args, "shutdown-grace-period"); ok {
			if n, ok := parseSleepArg(v); ok {
				d, src = n, "ingress-nginx --shutdown-grace-period="+v
			}
		}
		return OwnDelay{d, src}, true, nil
	}
	return OwnDelay{}, false, nil
}

var corefileLameduck = regexp.MustCompile(`(?m)^\s*lameduck\s+(\S+)`)

// parseDelayAnnotation reads "5s" or "app=5s,sidecar=0s" for container.
func parseDelayAnnotation(v, container string) (time.Duration, bool, error) {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "=") {
		d, err := parseAnnotationDuration(v)
		return d, err == nil, err
	}
	for _, part := range strings.Split(v, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, false, fmt.Errorf("%s: %q: want DURATION or CONTAINER=DURATION,...", ShutdownDelayAnnotation, v)
		}
		d, err := parseAnnotationDuration(strings.TrimSpace(val))
		if err != nil {
			return 0, false, err
		}
		if strings.TrimSpace(name) == container {
			return d, true, nil
		}
	}
	return 0, false, nil
}

func parseAnnotationDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a duration such as 5s", ShutdownDelayAnnotation, v)
	}
	return d, nil
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// flagValue finds --name=value, -name=value, --name value or -name value.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		for _, p := range []string{"--" + name, "-" + name} {
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, true
			}
			if a == p && i+1 < len(args) {
				return args[i+1], true
			}
		}
	}
	return "", false
}
