package kube

import (
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LoadSpec is the in-cluster load: `lameduck load` in a pod of the lameduck
// image, sending to the Service's ClusterIP.
type LoadSpec struct {
	Namespace string
	Image     string // an image holding /lameduck (the lameduck image)
	PullNever bool   // imagePullPolicy: Never (images imported into the node, no registry)
	URL       string // http://CLUSTER-IP:PORT/path
	Method    string
	Rate      int
	Duration  time.Duration
	Timeout   time.Duration
	RunID     string
	// Retry: the load sends each request's id as Idempotency-Key and
	// retries (lameduck load --retry), recording every attempt.
	Retry bool
}

// LoadPodLabel marks the drill's load pods (for cleanup and for excluding
// them from the workload's pods).
const LoadPodLabel = "lameduck.dev/drill-load"

// LoadPod returns the pod that runs the load: restartPolicy Never (a load
// that died must not silently start over), no Service selects it, its log
// is the per-request record stream.
func LoadPod(s LoadSpec) *corev1.Pod {
	pull := corev1.PullIfNotPresent
	if s.PullNever {
		pull = corev1.PullNever
	}
	method := s.Method
	if method == "" {
		method = "POST"
	}
	args := []string{"load", "--url", s.URL, "--method", method,
		"--rate", strconv.Itoa(s.Rate), "--duration", s.Duration.String(),
		"--timeout", s.Timeout.String(), "--run-id", s.RunID}
	if s.Retry {
		args = append(args, "--retry")
	}
	grace := int64(5)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "lameduck-load-" + s.RunID,
			Namespace: s.Namespace,
			Labels:    map[string]string{LoadPodLabel: s.RunID},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  new(bool),
			Containers: []corev1.Container{{
				Name:            "load",
				Image:           s.Image,
				ImagePullPolicy: pull,
				Args:            args,
			}},
		},
	}
}

// ServiceURL is the load's target: http://CLUSTER-IP:PORT/path of a Service
// (the named port, or the only one). Headless Services are refused: without a
// ClusterIP there is no kube-proxy routing to drill.
func ServiceURL(svc *corev1.Service, port, path string) (string, error) {
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone {
		return "", fmt.Errorf("service %s has no ClusterIP (headless): the drill needs kube-proxy's routing", svc.Name)
	}
	var p *corev1.ServicePort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if (port == "" && len(svc.Spec.Ports) == 1) || sp.Name == port || strconv.Itoa(int(sp.Port)) == port {
			p = sp
		}
	}
	if p == nil {
		return "", fmt.Errorf("service %s: no port %q among %d port(s)", svc.Name, port, len(svc.Spec.Ports))
	}
	if len(path) == 0 || path[0] != '/' {
		path = "/" + path
	}
	return "http://" + net.JoinHostPort(ip, strconv.Itoa(int(p.Port))) + path, nil
}
