package kube

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestRestartPatchIsKubectlRolloutRestarts(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	p := RestartPatch(at)
	want := `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-12-01T09:30:00Z"}}}}}`
	if p.Type != types.StrategicMergePatchType || string(p.Data) != want {
		t.Fatalf("RestartPatch = %s %s, want strategic %s", p.Type, p.Data, want)
	}
	dry := p.DryRun(Target{"shop", Deployment, "web"})
	if dry != "kubectl patch deployment/web -n shop --type=strategic -p '"+want+"'" {
		t.Fatalf("DryRun = %s", dry)
	}
}

func TestImagePatch(t *testing.T) {
	one := corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "a:1"}}}
	two := corev1.PodSpec{Containers: []corev1.Container{{Name: "web"}, {Name: "sidecar"}}}
	p, err := ImagePatch(one, "", "a:2")
	want := `{"spec":{"template":{"spec":{"containers":[{"image":"a:2","name":"web"}]}}}}`
	if err != nil || string(p.Data) != want {
		t.Fatalf("ImagePatch(one container) = %s, %v; want %s", p.Data, err, want)
	}
	if p, err = ImagePatch(two, "sidecar", "s:2"); err != nil || !strings.Contains(string(p.Data), `"name":"sidecar"`) {
		t.Fatalf("ImagePatch(sidecar) = %s, %v", p.Data, err)
	}
	for _, c := range []struct {
		spec            corev1.PodSpec
		container, want string
	}{
		{two, "", "has 2 containers (web, sidecar)"},
		{two, "db", `no container "db"`},
	} {
		if _, err := ImagePatch(c.spec, c.container, "x:1"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ImagePatch(%q) error %v, want %q", c.container, err, c.want)
		}
	}
	if _, err := ImagePatch(one, "", ""); err == nil {
		t.Error("empty image accepted")
	}
}
