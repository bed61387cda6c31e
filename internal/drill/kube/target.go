package kube

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Kind is the kind of workload the drill rolls.
type Kind string

// The workload kinds the drill can roll.
const (
	Deployment  Kind = "Deployment"
	StatefulSet Kind = "StatefulSet"
)

// Target is the workload to roll: its namespace, kind and name.
type Target struct {
	Namespace string
	Kind      Kind
	Name      string
}

// String renders the target as kubectl names it: "deployment/NAME -n NS".
func (t Target) String() string {
	return fmt.Sprintf("%s/%s -n %s", strings.ToLower(string(t.Kind)), t.Name, t.Namespace)
}

// ParseTarget reads a workload reference ("deployment/NAME", "deploy/NAME",
// "statefulset/NAME", "sts/NAME") in namespace ns. The namespace must be named
// explicitly (the drill never falls back to the kubeconfig's current namespace,
// so it cannot roll something by accident), and system namespaces (kube-system
// and every other "kube-" namespace) are refused: rolling their workloads can
// take the cluster down.
func ParseTarget(ns, ref string) (Target, error) {
	if ns == "" {
		return Target{}, fmt.Errorf("--namespace is required: the drill rolls nothing in a namespace it was not given explicitly")
	}
	if strings.HasPrefix(ns, "kube-") {
		return Target{}, fmt.Errorf("--namespace %s: refusing to roll workloads in a system namespace", ns)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return Target{}, fmt.Errorf("--namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	kind, name, ok := strings.Cut(ref, "/")
	if !ok || name == "" {
		return Target{}, fmt.Errorf("workload %q: want deployment/NAME or statefulset/NAME", ref)
	}
	var k Kind
	switch strings.ToLower(kind) {
	case "deployment", "deployments", "deploy", "deployment.apps", "deployments.apps":
		k = Deployment
	case "statefulset", "statefulsets", "sts", "statefulset.apps", "statefulsets.apps":
		k = StatefulSet
	default:
		return Target{}, fmt.Errorf("workload %q: kind %q is not deployment or statefulset", ref, kind)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return Target{}, fmt.Errorf("workload %q: name: %s", ref, strings.Join(errs, "; "))
	}
	return Target{Namespace: ns, Kind: k, Name: name}, nil
}
