// Code copied from k8s.io/kubernetes v1.34.4 (cmd/kube-scheduler), Apache-2.0,
// Copyright The Kubernetes Authors. Only the package comment differs.

// Command kube-scheduler is the Kubernetes kube-scheduler built from the k8s.io/kubernetes module.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register" // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version" // for version metric registration
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	command := app.NewSchedulerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
