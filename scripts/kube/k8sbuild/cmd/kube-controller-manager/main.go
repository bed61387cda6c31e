// Code copied from k8s.io/kubernetes v1.34.4 (cmd/kube-controller-manager), Apache-2.0,
// Copyright The Kubernetes Authors. Only the package comment differs.

// Command kube-controller-manager is the Kubernetes kube-controller-manager built from the k8s.io/kubernetes module.
package main

import (
	"os"
	_ "time/tzdata" // for CronJob Time Zone support

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // load all the prometheus client-go plugin
	_ "k8s.io/component-base/metrics/prometheus/version"  // for version metric registration
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	command := app.NewControllerManagerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
