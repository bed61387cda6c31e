// Code copied from k8s.io/kubernetes v1.34.4 (cmd/kube-apiserver), Apache-2.0,
// Copyright The Kubernetes Authors. Only the package comment differs.

// Command kube-apiserver is the Kubernetes kube-apiserver built from the k8s.io/kubernetes module.
package main

import (
	"os"
	_ "time/tzdata" // for timeZone support in CronJob

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // load all the prometheus client-go plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // for version metric registration
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	command := app.NewAPIServerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
