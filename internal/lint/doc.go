// Package lint checks the termination time budget of Kubernetes manifests:
// the engine of "lameduck lint".
//
// ReadPaths and ReadBytes read multi-document YAML (or JSON) and decode
// Deployment, StatefulSet, DaemonSet, Pod, Service, Ingress and
// PodDisruptionBudget strictly with the Kubernetes API types (k8s.io/api).
// Positions come from go.yaml.in/yaml/v3 nodes, so unknown fields, wrong
// types and duplicate keys are reported as file:line:col with what was
// expected. Other kinds are skipped (Input.Skipped); documents that are not
// objects at all are errors, except in directory walks. The reader never
// panics; FuzzRead checks that.
//
// Check links Services, Ingresses and PodDisruptionBudgets to the workloads
// they select (same namespace, or no namespace), computes every container's
// Budget — preStop hook, load balancer deregistration delay, how long the
// server keeps accepting requests, and the application's shutdown computed
// with the lameduck library's own OptionsFromEnv and Options.Budget from
// the container's LAMEDUCK_* variables — and runs the Rules. Times count
// from T0, the pod's deletion, when the preStop hook and endpoint removal
// start together:
//
//	LB deregistration delay < preStop (+ drain delay) < application shutdown < terminationGracePeriodSeconds
//
// Rules can be disabled for a workload with the annotation
// lameduck.dev/disable: "rule-id,rule-id" (or "all"), or everywhere
// through Config.Disable.
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
//	      "servingSeconds"|null, "lameduck",
//	      "app": {"totalSeconds", "drainDelaySeconds", "stopSeconds", "flushSeconds",
//	              "closeSeconds", "endSeconds", "startsAt", "warnings"}|null,
//	      "appError", "notes"
//	    }],
//	    "findings": [Finding...]
//	  }],
//	  "findings": [{"rule", "severity", "message", "file", "line", "column", "object", "container"}],
//	  "skipped": [{"file", "line", "apiVersion", "kind", "name", "reason"}],
//	  "errors": [{"file", "line", "column", "message"}],
//	  "summary": {"error": N, "warning": N, "info": N}
//	}
package lint
