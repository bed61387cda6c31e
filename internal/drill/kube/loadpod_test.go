package kube

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLoadPod(t *testing.T) {
	p := LoadPod(LoadSpec{Namespace: "shop", Image: "lameduck.local/lameduck:1", PullNever: true,
		URL: "http://10.96.100.20:8080/incr", Rate: 100, Duration: 30 * time.Second, Timeout: 2 * time.Second, RunID: "r1"})
	c := p.Spec.Containers[0]
	if p.Name != "lameduck-load-r1" || p.Namespace != "shop" || p.Labels[LoadPodLabel] != "r1" {
		t.Errorf("metadata %+v", p.ObjectMeta)
	}
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("restartPolicy %s pull %s, want Never and Never", p.Spec.RestartPolicy, c.ImagePullPolicy)
	}
	want := "load --url http://10.96.100.20:8080/incr --method POST --rate 100 --duration 30s --timeout 2s --run-id r1"
	if got := strings.Join(c.Args, " "); got != want {
		t.Errorf("args %q, want %q", got, want)
	}
	p = LoadPod(LoadSpec{Namespace: "shop", Image: "lameduck.local/lameduck:1", URL: "http://10.96.100.20:8080/incr",
		Rate: 100, Duration: 30 * time.Second, Timeout: 2 * time.Second, RunID: "r2", Retry: true})
	want = "load --url http://10.96.100.20:8080/incr --method POST --rate 100 --duration 30s --timeout 2s --run-id r2 --retry"
	if got := strings.Join(p.Spec.Containers[0].Args, " "); got != want {
		t.Errorf("args with Retry %q, want %q", got, want)
	}
}

func TestServiceURL(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		ClusterIP: "10.96.0.20", Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}}
	for _, c := range []struct{ port, path, want string }{
		{"", "/incr", "http://10.96.0.20:8080/incr"},
		{"http", "incr", "http://10.96.0.20:8080/incr"},
		{"8080", "/", "http://10.96.0.20:8080/"},
	} {
		if got, err := ServiceURL(svc, c.port, c.path); err != nil || got != c.want {
			t.Errorf("ServiceURL(%q, %q) = %q, %v; want %q", c.port, c.path, got, err, c.want)
		}
	}
	if _, err := ServiceURL(svc, "grpc", "/"); err == nil || !strings.Contains(err.Error(), `no port "grpc"`) {
		t.Errorf("unknown port: %v", err)
	}
	svc.Spec.ClusterIP = corev1.ClusterIPNone
	if _, err := ServiceURL(svc, "", "/"); err == nil || !strings.Contains(err.Error(), "headless") {
		t.Errorf("headless: %v", err)
	}
	v6 := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		ClusterIP: "fd00::20", Ports: []corev1.ServicePort{{Port: 80}}}}
	if got, _ := ServiceURL(v6, "", "/x"); got != "http://[fd00::20]:80/x" {
		t.Errorf("IPv6: %q", got)
	}
}
