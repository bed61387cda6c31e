package lint

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// DisableAnnotation lists rule ids ("budget-order,no-pdb", or "all") that
// are not checked for the workload carrying it (on the workload's metadata
// or its pod template's).
const DisableAnnotation = "lameduck.dev/disable"

// Workload is a Deployment, StatefulSet, DaemonSet or Pod: something that
// runs containers and is stopped by Kubernetes.
type Workload struct {
	*Object
	// Meta is the workload's metadata; PodMeta the pod template's (the
	// same as Meta for a Pod).
	Meta, PodMeta *metav1.ObjectMeta
	// Spec is the pod spec; SpecPath its field path ("spec.template.spec").
	Spec     *corev1.PodSpec
	SpecPath string
	// Replicas is spec.replicas, nil when unset or not applicable.
	Replicas *int32
	// MaxSurge and MaxUnavailable are the rolling update parameters
	// (nil when unset); StrategyPath is the field path of rollingUpdate.
	MaxSurge, MaxUnavailable *intstr.IntOrString
	StrategyPath             string

	// Services select the workload's pods; Ingresses route to them; PDBs
	// select them (all from the same input, same namespace).
	Services  []*Service
	Ingresses []*Ingress
	PDBs      []*PDB

	disabled map[string]bool
}

// Service is a decoded Service.
type Service struct {
	*Object
	S *corev1.Service
}

// Ingress is a decoded Ingress.
type Ingress struct {
	*Object
	I *networkingv1.Ingress
}

// PDB is a decoded PodDisruptionBudget.
type PDB struct {
	*Object
	P *policyv1.PodDisruptionBudget
}

// Manifests is the input organised for the rules.
type Manifests struct {
	Workloads []*Workload
	Services  []*Service
	Ingresses []*Ingress
	PDBs      []*PDB
}

// sameNamespace treats an empty namespace as "wherever it is applied",
// matching anything.
func sameNamespace(a, b string) bool { return a == b || a == "" || b == "" }

// Organize sorts the objects by kind and links services, ingresses and
// PDBs to the workloads they concern.
func Organize(objs []*Object) *Manifests {
	m := &Manifests{}
	for _, o := range objs {
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			w := &Workload{Object: o, Meta: &v.ObjectMeta, PodMeta: &v.Spec.Template.ObjectMeta,
				Spec: &v.Spec.Template.Spec, SpecPath: "spec.template.spec", Replicas: v.Spec.Replicas}
			if ru := v.Spec.Strategy.RollingUpdate; ru != nil {
				w.MaxSurge, w.MaxUnavailable, w.StrategyPath = ru.MaxSurge, ru.MaxUnavailable, "spec.strategy.rollingUpdate"
			}
			m.Workloads = append(m.Workloads, w)
		case *appsv1.StatefulSet:
			w := &Workload{Object: o, Meta: &v.ObjectMeta, PodMeta: &v.Spec.Template.ObjectMeta,
				Spec: &v.Spec.Template.Spec, SpecPath: "spec.template.spec", Replicas: v.Spec.Replicas}
			if ru := v.Spec.UpdateStrategy.RollingUpdate; ru != nil {
				w.MaxUnavailable, w.StrategyPath = ru.MaxUnavailable, "spec.updateStrategy.rollingUpdate"
			}
			m.Workloads = append(m.Workloads, w)
		case *appsv1.DaemonSet:
			w := &Workload{Object: o, Meta: &v.ObjectMeta, PodMeta: &v.Spec.Template.ObjectMeta,
				Spec: &v.Spec.Template.Spec, SpecPath: "spec.template.spec"}
			if ru := v.Spec.UpdateStrategy.RollingUpdate; ru != nil {
				w.MaxSurge, w.MaxUnavailable, w.StrategyPath = ru.MaxSurge, ru.MaxUnavailable, "spec.updateStrategy.rollingUpdate"
			}
			m.Workloads = append(m.Workloads, w)
		case *corev1.Pod:
			m.Workloads = append(m.Workloads, &Workload{Object: o, Meta: &v.ObjectMeta, PodMeta: &v.ObjectMeta,
				Spec: &v.Spec, SpecPath: "spec"})
		case *corev1.Service:
			m.Services = append(m.Services, &Service{Object: o, S: v})
		case *networkingv1.Ingress:
			m.Ingresses = append(m.Ingresses, &Ingress{Object: o, I: v})
		case *policyv1.PodDisruptionBudget:
			m.PDBs = append(m.PDBs, &PDB{Object: o, P: v})
		}
	}
	for _, w := range m.Workloads {
		w.disabled = map[string]bool{}
		for _, meta := range []*metav1.ObjectMeta{w.Meta, w.PodMeta} {
			for _, id := range strings.Split(meta.Annotations[DisableAnnotation], ",") {
				if id = strings.TrimSpace(id); id != "" {
					w.disabled[id] = true
				}
			}
		}
		podLabels := labels.Set(w.PodMeta.Labels)
		for _, s := range m.Services {
			if !sameNamespace(s.Namespace, w.Namespace) || len(s.S.Spec.Selector) == 0 || s.S.Spec.Type == corev1.ServiceTypeExternalName {
				continue
			}
			if labels.SelectorFromSet(s.S.Spec.Selector).Matches(podLabels) {
				w.Services = append(w.Services, s)
			}
		}
		for _, ing := range m.Ingresses {
			if !sameNamespace(ing.Namespace, w.Namespace) {
				continue
			}
			for _, name := range ingressServices(ing.I) {
				if i := indexService(w.Services, name); i >= 0 {
					w.Ingresses = append(w.Ingresses, ing)
					break
				}
			}
		}
		for _, p := range m.PDBs {
			if !sameNamespace(p.Namespace, w.Namespace) || p.P.Spec.Selector == nil {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(p.P.Spec.Selector)
			if err != nil || sel.Empty() {
				continue
			}
			if sel.Matches(podLabels) {
				w.PDBs = append(w.PDBs, p)
			}
		}
	}
	return m
}

func indexService(ss []*Service, name string) int {
	for i, s := range ss {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// ingressServices lists the backend service names of an Ingress.
func ingressServices(ing *networkingv1.Ingress) []string {
	var names []string
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil {
		names = append(names, b.Service.Name)
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil {
				names = append(names, p.Backend.Service.Name)
			}
		}
	}
	return names
}

// Disabled reports whether rule id is disabled for w by annotation.
func (w *Workload) Disabled(id string) bool { return w.disabled[id] || w.disabled["all"] }

// containerPath is the field path of the i-th container.
func (w *Workload) containerPath(i int) string {
	return w.SpecPath + ".containers[" + itoa(i) + "]"
}
