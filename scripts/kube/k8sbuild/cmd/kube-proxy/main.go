// Code copied from k8s.io/kubernetes v1.34.4 (cmd/kube-proxy), Apache-2.0,
// Copyright The Kubernetes Authors. Only the package comment differs.

// Command kube-proxy is the Kubernetes kube-proxy built from the k8s.io/kubernetes module.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // for client metric registration
	_ "k8s.io/component-base/metrics/prometheus/version"  // for version metric registration
	"k8s.io/kubernetes/cmd/kube-proxy/app"
)

func main() {
	command := app.NewProxyCommand()
	code := cli.Run(command)
	os.Exit(code)
}
