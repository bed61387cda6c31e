// Package lint checks the termination time budget of Kubernetes manifests:
// the engine of "lameduck lint".
//
// ReadPaths and ReadBytes read multi-document YAML (or JSON) and decode
// Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
// Pod, Argo Rollout, Service, Ingress, PodDisruptionBudget,
// HorizontalPodAutoscaler and ConfigMap strictly with the Kubernetes API
// types (k8s.io/api). Each document is parsed once with go.yaml.in/yaml/v3
// and converted to JSON the way kubectl reads YAML, then decoded with
// sigs.k8s.io/json's strict decoder, documents in parallel; the YAML tree
// is then dropped, and positions (file:line:col of a field) are found again
// by re-parsing that document. Unknown fields, wrong types and duplicate
// keys are reported with their position and what was expected. Removed
// apiVersions (extensions/v1beta1, apps/v1beta1, ...) are decoded with
// their old types and converted (Object.Removed). Other kinds are skipped
// (Input.Skipped); documents that are not objects at all are errors,
// except in directory walks (kustomize patches and Helm values are
// skipped there). The reader never panics; FuzzRead checks that.
//
// Check links Services, Ingresses, PodDisruptionBudgets, HPAs and mounted
// ConfigMaps to the workloads they concern (same namespace; namespace-less
// objects only within one directory), computes every container's Budget —
// preStop hook, load balancer deregistration delay, how long the server
// keeps accepting requests (preStop, lameduck's drain delay, or the
// server's own delay: see ownDelay), and the application's shutdown
// computed with the lameduck library's own OptionsFromEnv and
// Options.Budget from the container's LAMEDUCK_* variables — and runs the
// Rules. Times count from T0, the pod's deletion, when the preStop hook and
// endpoint removal start together:
//
//	LB deregistration delay < preStop (+ drain delay) < application shutdown < terminationGracePeriodSeconds
//
// Each rule has a severity (Error fails CI by default, Warning and Info
// inform; Result.ExitCode applies a threshold). Rules can be disabled for a
// workload with the annotation lameduck.dev/disable: "rule-id,rule-id" (or
// "all"), or everywhere through Config.Disable; lameduck.dev/shutdown-delay
// declares a server's own delay after SIGTERM.
//
// # Output
//
// WriteText groups findings by workload, each as
// "file:line:col: [severity] rule: message", after each container's budget.
// WriteSARIF writes a SARIF 2.1.0 log (one run; unreadable inputs are tool
// execution notifications). WriteJSON writes:
//
//	{
//	  "workloads": [{
//	    "object": "Deployment ns/name", "kind", "name", "namespace", "file", "line",
//	    "containers": [{
//	      "name", "gracePeriodSeconds", "gracePeriodDefault",
//	      "preStop": {"kind", "description", "seconds"|null},
//	      "behindService", "loadBalancer": {"delaySeconds", "source", "file", "line"}|null,
//	      "servedBy": [Service names], "ownDelay": {"seconds", "source"}|null,
//	      "servingSeconds"|null, "lameduck",
//	      "app": {"totalSeconds", "drainDelaySeconds", "stopSeconds", "flushSeconds",
//	              "closeSeconds", "endSeconds", "startsAt", "warnings"}|null,
//	      "appError", "notes"
//	    }],
//	    "findings": [Finding...]
//	  }],
//	  "findings": [{"rule", "severity", "message", "file", "line", "column", "object", "container"}],
//	  (findings on objects that are not workloads, such as a removed-api-version
//	  Ingress, appear only in the top-level list)
//	  "skipped": [{"file", "line", "apiVersion", "kind", "name", "reason"}],
//	  "errors": [{"file", "line", "column", "message"}],
//	  "summary": {"error": N, "warning": N, "info": N}
//	}
package lint
