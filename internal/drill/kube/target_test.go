package kube

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		ns, ref string
		want    Target
	}{
		{"shop", "deployment/web", Target{"shop", Deployment, "web"}},
		{"shop", "deploy/web", Target{"shop", Deployment, "web"}},
		{"shop", "deployments.apps/web", Target{"shop", Deployment, "web"}},
		{"shop", "StatefulSet/db", Target{"shop", StatefulSet, "db"}},
		{"shop", "sts/db", Target{"shop", StatefulSet, "db"}},
	} {
		got, err := ParseTarget(c.ns, c.ref)
		if err != nil || got != c.want {
			t.Errorf("ParseTarget(%q, %q) = %+v, %v; want %+v", c.ns, c.ref, got, err, c.want)
		}
	}
	if s := (Target{"shop", Deployment, "web"}).String(); s != "deployment/web -n shop" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseTargetRefuses(t *testing.T) {
	for _, c := range []struct{ ns, ref, want string }{
		{"", "deployment/web", "--namespace is required"},
		{"kube-system", "deployment/coredns", "system namespace"},
		{"kube-public", "deployment/x", "system namespace"},
		{"Shop", "deployment/web", `--namespace "Shop"`},
		{"shop", "web", "want deployment/NAME"},
		{"shop", "deployment/", "want deployment/NAME"},
		{"shop", "daemonset/agent", `kind "daemonset"`},
		{"shop", "deployment/Web_1", "name:"},
	} {
		_, err := ParseTarget(c.ns, c.ref)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseTarget(%q, %q) error %v, want it to mention %q", c.ns, c.ref, err, c.want)
		}
	}
}
