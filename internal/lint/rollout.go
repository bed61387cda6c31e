package lint

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Rollout is the part of an Argo Rollouts Rollout (argoproj.io/v1alpha1)
// that lint reads: a Deployment-like workload whose pods are replaced by a
// canary or blue-green strategy. Fields lint does not read are accepted
// as they are (the strategy, analysis); unknown top-level spec fields are
// errors, as with the built-in kinds.
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RolloutSpec     `json:"spec"`
	Status            json.RawMessage `json:"status,omitempty"`
}

// RolloutSpec is a Rollout's spec.
type RolloutSpec struct {
	Replicas                *int32                 `json:"replicas,omitempty"`
	Selector                *metav1.LabelSelector  `json:"selector,omitempty"`
	Template                corev1.PodTemplateSpec `json:"template"`
	WorkloadRef             json.RawMessage        `json:"workloadRef,omitempty"`
	MinReadySeconds         int32                  `json:"minReadySeconds,omitempty"`
	RevisionHistoryLimit    *int32                 `json:"revisionHistoryLimit,omitempty"`
	Paused                  bool                   `json:"paused,omitempty"`
	ProgressDeadlineSeconds *int32                 `json:"progressDeadlineSeconds,omitempty"`
	ProgressDeadlineAbort   bool                   `json:"progressDeadlineAbort,omitempty"`
	RestartAt               json.RawMessage        `json:"restartAt,omitempty"`
	RollbackWindow          json.RawMessage        `json:"rollbackWindow,omitempty"`
	Analysis                json.RawMessage        `json:"analysis,omitempty"`
	Strategy                RolloutStrategy        `json:"strategy"`
}

// RolloutStrategy reads the canary's surge parameters; the rest of the
// strategy (steps, traffic routing, blue-green services) is not checked.
type RolloutStrategy struct {
	Canary    *RolloutCanary
	BlueGreen bool
}

// RolloutCanary holds a canary strategy's maxSurge and maxUnavailable.
type RolloutCanary struct {
	MaxSurge, MaxUnavailable *intstr.IntOrString
}

// UnmarshalJSON reads the strategy leniently.
func (s *RolloutStrategy) UnmarshalJSON(b []byte) error {
	var raw struct {
		Canary *struct {
			MaxSurge       *intstr.IntOrString `json:"maxSurge"`
			MaxUnavailable *intstr.IntOrString `json:"maxUnavailable"`
		} `json:"canary"`
		BlueGreen json.RawMessage `json:"blueGreen"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw.Canary != nil {
		s.Canary = &RolloutCanary{MaxSurge: raw.Canary.MaxSurge, MaxUnavailable: raw.Canary.MaxUnavailable}
	}
	s.BlueGreen = len(raw.BlueGreen) > 0 && string(raw.BlueGreen) != "null"
	return nil
}
