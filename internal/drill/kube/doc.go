// Package kube is the Kubernetes side of `lameduck drill --kube`: it names the
// workload to roll (Target), builds the patch that triggers the rollout as
// `kubectl rollout restart` or `kubectl set image` do (Trigger), decides when
// a rollout is done (DeploymentDone, StatefulSetDone), turns watched
// EndpointSlices, pods and events into a neutral list of timed events
// (EndpointSliceEvents, PodEvents, EventFromCore) and describes the in-cluster
// load (LoadPod). Cluster.Drill runs the whole drill (watch, load, trigger,
// done, ledger) and Recorder merges what it observed into the same
// trace.Trace the local backend produces, so the analysis and the reports
// work unchanged. The decisions are pure functions over API objects, tested
// on objects recorded from a real cluster (testdata/); the client-go calls
// live in client.go and drill.go.
//
// It is CLI-side only: the lameduck library never imports it.
package kube
