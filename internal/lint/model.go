package lint

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Annotations lint reads on a workload or its pod template.
const (
	// DisableAnnotation lists rule ids ("budget-order,no-pdb", or "all")
	// that are not checked for the workload carrying it.
	DisableAnnotation = "lameduck.dev/disable"
	// ShutdownDelayAnnotation declares how long the application keeps
	// accepting requests after SIGTERM on its own ("5s"; or per container:
	// "app=5s,sidecar=0s"), for servers lint cannot read the delay of.
	ShutdownDelayAnnotation = "lameduck.dev/shutdown-delay"
)

// Workload is a Deployment, StatefulSet, DaemonSet, ReplicaSet,
// ReplicationController, Argo Rollout or Pod: something that runs
// containers and is stopped by Kubernetes.
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
	// select them; HPAs scale it (all from the same input, same namespace;
	// objects without a namespace only from the same directory).
	Services  []*Service
	Ingresses []*Ingress
	PDBs      []*PDB
	HPAs      []*HPA
	// ConfigMaps are the ConfigMaps of the input its pods mount, by name.
	ConfigMaps map[string]*corev1.ConfigMap

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

// HPA is a decoded HorizontalPodAutoscaler.
type HPA struct {
	*Object
	H *autoscalingv2.HorizontalPodAutoscaler
}

// Manifests is the input organised for the rules.
type Manifests struct {
	Workloads []*Workload
	Services  []*Service
	Ingresses []*Ingress
	PDBs      []*PDB
	HPAs      []*HPA
	// Removed are the objects of apiVersions Kubernetes no longer serves.
	Removed []*Object
}

// scopes returns the keys under which o is registered for workloads
// to find it: its namespace, and its directory (a namespace-less object
// is applied together with the files beside it, into whatever namespace
// they go; it is not linked with namespace-less objects of unrelated
// directories). A namespaced object is found through its directory only
// by namespace-less workloads ("dirns:"), so that many namespaces in one
// file do not all meet in one bucket.
func scopes(o *Object) []string {
	dir := filepath.Dir(o.File)
	if o.Namespace == "" {
		return []string{"dir:" + dir}
	}
	return []string{"ns:" + o.Namespace, "dirns:" + dir}
}

// lookupScopes returns the keys a workload looks objects up under.
func lookupScopes(w *Object) []string {
	dir := filepath.Dir(w.File)
	if w.Namespace == "" {
		return []string{"dir:" + dir, "dirns:" + dir}
	}
	return []string{"ns:" + w.Namespace, "dir:" + dir}
}

// related reports whether a and b may be applied to the same namespace.
func related(a, b *Object) bool {
	if a.Namespace != "" && b.Namespace != "" {
		return a.Namespace == b.Namespace
	}
	return filepath.Dir(a.File) == filepath.Dir(b.File)
}

// index finds the objects of one kind that may concern a workload in
// time linear in the input: by scope and one label (or name).
type index[T any] struct {
	m map[string][]T
}

func (x *index[T]) add(key string, v T) {
	if x.m == nil {
		x.m = map[string][]T{}
	}
	x.m[key] = append(x.m[key], v)
}

// Organize sorts the objects by kind and links services, ingresses, PDBs,
// HPAs and ConfigMaps to the workloads they concern.
func Organize(objs []*Object) *Manifests {
	m := &Manifests{}
	var configMaps []*Object
	for _, o := range objs {
		if o.Removed != "" {
			m.Removed = append(m.Removed, o)
		}
		if w := newWorkload(o); w != nil {
			m.Workloads = append(m.Workloads, w)
			continue
		}
		switch v := o.Obj.(type) {
		case *corev1.Service:
			m.Services = append(m.Services, &Service{Object: o, S: v})
		case *networkingv1.Ingress:
			m.Ingresses = append(m.Ingresses, &Ingress{Object: o, I: v})
		case *policyv1.PodDisruptionBudget:
			m.PDBs = append(m.PDBs, &PDB{Object: o, P: v})
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.HPAs = append(m.HPAs, &HPA{Object: o, H: v})
		case *corev1.ConfigMap:
			configMaps = append(configMaps, o)
		}
	}

	// Services by scope and their first selector label.
	var svcs index[*Service]
	for _, s := range m.Services {
		if len(s.S.Spec.Selector) == 0 || s.S.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		k, v := firstLabel(s.S.Spec.Selector)
		for _, sc := range scopes(s.Object) {
			svcs.add(sc+"\x00"+k+"="+v, s)
		}
	}
	// Ingresses by scope and backend service name.
	var ings index[*Ingress]
	for _, ing := range m.Ingresses {
		seen := map[string]bool{}
		for _, name := range ingressServices(ing.I) {
			if seen[name] {
				continue
			}
			seen[name] = true
			for _, sc := range scopes(ing.Object) {
				ings.add(sc+"\x00"+name, ing)
			}
		}
	}
	// PDBs by scope and their first matchLabels label ("*" when they have
	// only expressions).
	var pdbs index[*PDB]
	for _, p := range m.PDBs {
		if p.P.Spec.Selector == nil {
			continue
		}
		key := "*"
		if len(p.P.Spec.Selector.MatchLabels) > 0 {
			k, v := firstLabel(p.P.Spec.Selector.MatchLabels)
			key = k + "=" + v
		}
		for _, sc := range scopes(p.Object) {
			pdbs.add(sc+"\x00"+key, p)
		}
	}
	var hpas index[*HPA]
	for _, h := range m.HPAs {
		ref := h.H.Spec.ScaleTargetRef
		for _, sc := range scopes(h.Object) {
			hpas.add(sc+"\x00"+ref.Kind+"/"+ref.Name, h)
		}
	}
	var cms index[*Object]
	for _, c := range configMaps {
		for _, sc := range scopes(c) {
			cms.add(sc+"\x00"+c.Name, c)
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
		wscopes := lookupScopes(w.Object)
		keys := slices.Sorted(maps.Keys(w.PodMeta.Labels))
		for _, sc := range wscopes {
			for _, k := range keys {
				v := w.PodMeta.Labels[k]
				for _, s := range svcs.m[sc+"\x00"+k+"="+v] {
					if related(s.Object, w.Object) && !containsPtr(w.Services, s) &&
						labels.SelectorFromSet(s.S.Spec.Selector).Matches(podLabels) {
						w.Services = append(w.Services, s)
					}
				}
				for _, p := range pdbs.m[sc+"\x00"+k+"="+v] {
					if related(p.Object, w.Object) && !containsPtr(w.PDBs, p) && pdbSelects(p, podLabels) {
						w.PDBs = append(w.PDBs, p)
					}
				}
			}
			for _, p := range pdbs.m[sc+"\x00*"] {
				if related(p.Object, w.Object) && !containsPtr(w.PDBs, p) && pdbSelects(p, podLabels) {
					w.PDBs = append(w.PDBs, p)
				}
			}
			for _, h := range hpas.m[sc+"\x00"+w.Kind+"/"+w.Name] {
				if related(h.Object, w.Object) && !containsPtr(w.HPAs, h) {
					w.HPAs = append(w.HPAs, h)
				}
			}
		}
		w.Services = preferSameFile(w.Object, w.Services, func(s *Service) *Object { return s.Object })
		w.PDBs = preferSameFile(w.Object, w.PDBs, func(p *PDB) *Object { return p.Object })
		w.HPAs = preferSameFile(w.Object, w.HPAs, func(h *HPA) *Object { return h.Object })
		for _, s := range w.Services {
			for _, sc := range wscopes {
				for _, ing := range ings.m[sc+"\x00"+s.Name] {
					if related(ing.Object, s.Object) && related(ing.Object, w.Object) && !containsPtr(w.Ingresses, ing) {
						w.Ingresses = append(w.Ingresses, ing)
					}
				}
			}
		}
		for _, v := range w.Spec.Volumes {
			if v.ConfigMap == nil {
				continue
			}
			for _, sc := range wscopes {
				for _, c := range cms.m[sc+"\x00"+v.ConfigMap.Name] {
					if related(c, w.Object) {
						if w.ConfigMaps == nil {
							w.ConfigMaps = map[string]*corev1.ConfigMap{}
						}
						w.ConfigMaps[v.Name] = c.Obj.(*corev1.ConfigMap)
					}
				}
			}
		}
	}
	return m
}

// newWorkload returns the workload o is, or nil.
func newWorkload(o *Object) *Workload {
	tmpl := func(meta *metav1.ObjectMeta, t *corev1.PodTemplateSpec, replicas *int32) *Workload {
		return &Workload{Object: o, Meta: meta, PodMeta: &t.ObjectMeta, Spec: &t.Spec, SpecPath: "spec.template.spec", Replicas: replicas}
	}
	switch v := o.Obj.(type) {
	case *appsv1.Deployment:
		w := tmpl(&v.ObjectMeta, &v.Spec.Template, v.Spec.Replicas)
		if ru := v.Spec.Strategy.RollingUpdate; ru != nil {
			w.MaxSurge, w.MaxUnavailable, w.StrategyPath = ru.MaxSurge, ru.MaxUnavailable, "spec.strategy.rollingUpdate"
		}
		return w
	case *appsv1.StatefulSet:
		w := tmpl(&v.ObjectMeta, &v.Spec.Template, v.Spec.Replicas)
		if ru := v.Spec.UpdateStrategy.RollingUpdate; ru != nil {
			w.MaxUnavailable, w.StrategyPath = ru.MaxUnavailable, "spec.updateStrategy.rollingUpdate"
		}
		return w
	case *appsv1.DaemonSet:
		w := tmpl(&v.ObjectMeta, &v.Spec.Template, nil)
		if ru := v.Spec.UpdateStrategy.RollingUpdate; ru != nil {
			w.MaxSurge, w.MaxUnavailable, w.StrategyPath = ru.MaxSurge, ru.MaxUnavailable, "spec.updateStrategy.rollingUpdate"
		}
		return w
	case *appsv1.ReplicaSet:
		return tmpl(&v.ObjectMeta, &v.Spec.Template, v.Spec.Replicas)
	case *corev1.ReplicationController:
		if v.Spec.Template == nil {
			return nil
		}
		return tmpl(&v.ObjectMeta, v.Spec.Template, v.Spec.Replicas)
	case *Rollout:
		w := tmpl(&v.ObjectMeta, &v.Spec.Template, v.Spec.Replicas)
		if c := v.Spec.Strategy.Canary; c != nil {
			w.MaxSurge, w.MaxUnavailable, w.StrategyPath = c.MaxSurge, c.MaxUnavailable, "spec.strategy.canary"
		}
		return w
	case *corev1.Pod:
		return &Workload{Object: o, Meta: &v.ObjectMeta, PodMeta: &v.ObjectMeta, Spec: &v.Spec, SpecPath: "spec"}
	}
	return nil
}

// preferSameFile drops the namespace-less objects of other files when a
// namespace-less workload has some of that kind in its own file: a
// directory may hold several unrelated apps.
func preferSameFile[T any](w *Object, l []T, obj func(T) *Object) []T {
	if w.Namespace != "" {
		return l
	}
	own := false
	for _, e := range l {
		if o := obj(e); o.Namespace == "" && o.File == w.File {
			own = true
		}
	}
	if !own {
		return l
	}
	out := l[:0]
	for _, e := range l {
		if o := obj(e); o.Namespace != "" || o.File == w.File {
			out = append(out, e)
		}
	}
	return out
}

func firstLabel(m map[string]string) (k, v string) {
	first := true
	for kk, vv := range m {
		if first || kk < k {
			k, v, first = kk, vv, false
		}
	}
	return k, v
}

func containsPtr[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func pdbSelects(p *PDB, podLabels labels.Set) bool {
	sel, err := metav1.LabelSelectorAsSelector(p.P.Spec.Selector)
	return err == nil && !sel.Empty() && sel.Matches(podLabels)
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

// annotation returns the value of key on the workload or its pod template.
func (w *Workload) annotation(key string) (string, bool) {
	if v, ok := w.PodMeta.Annotations[key]; ok {
		return v, true
	}
	v, ok := w.Meta.Annotations[key]
	return v, ok
}

// containerPath is the field path of the i-th container.
func (w *Workload) containerPath(i int) string {
	return w.SpecPath + ".containers[" + itoa(i) + "]"
}

// Replicas returns how many pods the workload runs: spec.replicas, or
// the HPA's minReplicas when replicas is unset (1 when the HPA does not
// say), and whether that is known.
func (w *Workload) replicaCount() (n int32, known bool) {
	if w.Replicas != nil {
		return *w.Replicas, true
	}
	for _, h := range w.HPAs {
		if h.H.Spec.MinReplicas != nil {
			return *h.H.Spec.MinReplicas, true
		}
		return 1, true
	}
	return 1, false
}

// servingPorts returns, for container ct, the Services (not headless)
// that send it client traffic: a Service port whose targetPort is one of
// the container's declared ports. Ports that only export metrics (named
// "metrics" or in a Service named so) are not client traffic.
func (w *Workload) servingServices(ct *corev1.Container) []*Service {
	var out []*Service
	for _, s := range w.Services {
		if s.S.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		for _, sp := range s.S.Spec.Ports {
			cp := targetedPort(ct, sp)
			if cp == nil || metricsPort(s, sp, cp) {
				continue
			}
			out = append(out, s)
			break
		}
	}
	return out
}

// targetedPort returns the container port the Service port sends to.
func targetedPort(ct *corev1.Container, sp corev1.ServicePort) *corev1.ContainerPort {
	tp := sp.TargetPort
	if tp.Type == intstr.Int && tp.IntVal == 0 && tp.StrVal == "" {
		tp = intstr.FromInt32(sp.Port)
	}
	for i := range ct.Ports {
		cp := &ct.Ports[i]
		if cp.Protocol != "" && sp.Protocol != "" && cp.Protocol != sp.Protocol {
			continue
		}
		if tp.Type == intstr.String && cp.Name == tp.StrVal || tp.Type == intstr.Int && cp.ContainerPort == tp.IntVal {
			return cp
		}
	}
	return nil
}

func metricsPort(s *Service, sp corev1.ServicePort, cp *corev1.ContainerPort) bool {
	for _, n := range []string{s.Name, sp.Name, cp.Name} {
		n = strings.ToLower(n)
		if strings.Contains(n, "metrics") || strings.Contains(n, "prometheus") || n == "monitoring" {
			return true
		}
	}
	return false
}

// served reports whether any container of w, native sidecars included
// (an inbound proxy), gets client traffic.
func (w *Workload) served() bool {
	for i := range w.Spec.Containers {
		if len(w.servingServices(&w.Spec.Containers[i])) > 0 {
			return true
		}
	}
	for _, c := range w.nativeSidecars() {
		if len(w.servingServices(c)) > 0 {
			return true
		}
	}
	return false
}

// nativeSidecars returns the init containers that run for the pod's whole
// life (restartPolicy: Always, Kubernetes ≥ 1.29): the kubelet stops them
// only after every regular container has exited, in reverse order.
func (w *Workload) nativeSidecars() []*corev1.Container {
	var out []*corev1.Container
	for i := range w.Spec.InitContainers {
		c := &w.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out, c)
		}
	}
	return out
}
