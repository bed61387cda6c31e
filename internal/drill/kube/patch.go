package kube

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// RestartedAtAnnotation is the pod-template annotation `kubectl rollout
// restart` sets: changing it changes the template, so the controller rolls
// every pod.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// Patch is a change to a workload that triggers a rollout.
type Patch struct {
	Type types.PatchType
	Data []byte
}

// RestartPatch is the strategic-merge patch `kubectl rollout restart` sends:
// the pod template's restartedAt annotation set to at (RFC 3339, local time as
// kubectl writes it).
func RestartPatch(at time.Time) Patch {
	p := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{RestartedAtAnnotation: at.Format(time.RFC3339)},
	}}}}
	b, _ := json.Marshal(p) // maps of strings always marshal
	return Patch{Type: types.StrategicMergePatchType, Data: b}
}

// ImagePatch is the strategic-merge patch `kubectl set image` sends to change
// one container's image. container may be empty when the pod template has
// exactly one container; it must name a container of the template otherwise.
func ImagePatch(spec corev1.PodSpec, container, image string) (Patch, error) {
	if image == "" {
		return Patch{}, fmt.Errorf("--image: empty image reference")
	}
	var names []string
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	switch {
	case container == "" && len(names) == 1:
		container = names[0]
	case container == "":
		return Patch{}, fmt.Errorf("--image: the pod template has %d containers (%s): name one as CONTAINER=IMAGE", len(names), strings.Join(names, ", "))
	default:
		found := false
		for _, n := range names {
			found = found || n == container
		}
		if !found {
			return Patch{}, fmt.Errorf("--image: no container %q in the pod template (containers: %s)", container, strings.Join(names, ", "))
		}
	}
	p := map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []map[string]string{{"name": container, "image": image}},
	}}}}
	b, _ := json.Marshal(p)
	return Patch{Type: types.StrategicMergePatchType, Data: b}, nil
}

// DryRun renders what the drill would send, as the equivalent kubectl
// command, for --dry-run.
func (p Patch) DryRun(t Target) string {
	return fmt.Sprintf("kubectl patch %s/%s -n %s --type=strategic -p '%s'",
		strings.ToLower(string(t.Kind)), t.Name, t.Namespace, p.Data)
}
