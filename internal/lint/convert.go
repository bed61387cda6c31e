package lint

import (
	"encoding/json"

	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// convertLegacy turns an object of an older apiVersion (decoded from data
// into legacy) into modern, the current apiVersion's type. The workload,
// PDB and HPA types kept their field names, so a lenient decode of the
// same JSON carries everything lint reads; Ingress backends changed shape
// and are copied over.
func convertLegacy(legacy any, data []byte, modern any) any {
	if err := json.Unmarshal(data, modern); err != nil {
		return legacy // cannot happen: data decoded strictly into legacy
	}
	ing, ok := modern.(*networkingv1.Ingress)
	if !ok {
		return modern
	}
	type backend struct {
		ServiceName string
		ServicePort intstr.IntOrString
	}
	var def *backend
	var paths [][]backend
	switch v := legacy.(type) {
	case *extensionsv1beta1.Ingress:
		if b := v.Spec.Backend; b != nil {
			def = &backend{b.ServiceName, b.ServicePort}
		}
		for _, r := range v.Spec.Rules {
			var ps []backend
			if r.HTTP != nil {
				for _, p := range r.HTTP.Paths {
					ps = append(ps, backend{p.Backend.ServiceName, p.Backend.ServicePort})
				}
			}
			paths = append(paths, ps)
		}
	case *networkingv1beta1.Ingress:
		if b := v.Spec.Backend; b != nil {
			def = &backend{b.ServiceName, b.ServicePort}
		}
		for _, r := range v.Spec.Rules {
			var ps []backend
			if r.HTTP != nil {
				for _, p := range r.HTTP.Paths {
					ps = append(ps, backend{p.Backend.ServiceName, p.Backend.ServicePort})
				}
			}
			paths = append(paths, ps)
		}
	default:
		return modern
	}
	conv := func(b backend) networkingv1.IngressBackend {
		port := networkingv1.ServiceBackendPort{Name: b.ServicePort.StrVal}
		if b.ServicePort.Type == intstr.Int {
			port = networkingv1.ServiceBackendPort{Number: b.ServicePort.IntVal}
		}
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: b.ServiceName, Port: port}}
	}
	if def != nil && def.ServiceName != "" {
		b := conv(*def)
		ing.Spec.DefaultBackend = &b
	}
	for i, ps := range paths {
		if i >= len(ing.Spec.Rules) || ing.Spec.Rules[i].HTTP == nil {
			continue
		}
		for j, p := range ps {
			if j < len(ing.Spec.Rules[i].HTTP.Paths) && p.ServiceName != "" {
				ing.Spec.Rules[i].HTTP.Paths[j].Backend = conv(p)
			}
		}
	}
	return ing
}
