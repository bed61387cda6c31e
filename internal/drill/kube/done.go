package kube

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Progress is the state of a rollout, as DeploymentDone and StatefulSetDone
// judge it.
type Progress struct {
	// Done: the rollout is complete and no pod of it is still terminating.
	Done bool
	// Failed: the rollout cannot complete (ProgressDeadlineExceeded).
	Failed bool
	// Reason says what is still awaited (or why it failed); empty when Done.
	Reason string
}

// RevisionAnnotation is the revision the Deployment controller stamps on a
// Deployment and on its ReplicaSets.
const RevisionAnnotation = "deployment.kubernetes.io/revision"

// NewReplicaSet returns the Deployment's current ReplicaSet among rss: the
// one owned by d whose revision is d's. It returns nil when the controller
// has not created it yet.
func NewReplicaSet(d *appsv1.Deployment, rss []appsv1.ReplicaSet) *appsv1.ReplicaSet {
	rev := d.Annotations[RevisionAnnotation]
	for i := range rss {
		rs := &rss[i]
		owned := false
		for _, o := range rs.OwnerReferences {
			owned = owned || (o.UID == d.UID && o.Kind == "Deployment")
		}
		if owned && rev != "" && rs.Annotations[RevisionAnnotation] == rev {
			return rs
		}
	}
	return nil
}

// DeploymentDone judges a Deployment's rollout from its object, its current
// ReplicaSet (nil if not created yet) and the pods its selector matches.
//
// Done means: the controller observed the latest generation; updated =
// ready = available = total replicas = desired; no ProgressDeadlineExceeded;
// and no pod of the rollout is still terminating. The last check uses
// status.terminatingReplicas where the API server serves it (the
// DeploymentReplicaSetTerminatingReplicas feature, alpha and off in 1.33 and
// 1.34) and otherwise looks at the pods: none may carry a deletionTimestamp
// or belong to another template hash than the current ReplicaSet's.
// `kubectl rollout status` stops before that last step, while old pods are
// still shutting down and losing work.
func DeploymentDone(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, pods []corev1.Pod) Progress {
	if d.Status.ObservedGeneration < d.Generation {
		return Progress{Reason: fmt.Sprintf("waiting for the controller to observe generation %d (observed %d)", d.Generation, d.Status.ObservedGeneration)}
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return Progress{Failed: true, Reason: fmt.Sprintf("ProgressDeadlineExceeded: %s", c.Message)}
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	if s.UpdatedReplicas != want || s.ReadyReplicas != want || s.AvailableReplicas != want || s.Replicas != want {
		return Progress{Reason: fmt.Sprintf("replicas: desired %d, updated %d, ready %d, available %d, total %d",
			want, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas, s.Replicas)}
	}
	if s.TerminatingReplicas != nil {
		if *s.TerminatingReplicas > 0 {
			return Progress{Reason: fmt.Sprintf("%d pod(s) still terminating (status.terminatingReplicas)", *s.TerminatingReplicas)}
		}
		return Progress{Done: true}
	}
	if newRS == nil {
		return Progress{Reason: "waiting for the current ReplicaSet"}
	}
	hash := newRS.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	return noTerminating(pods, appsv1.DefaultDeploymentUniqueLabelKey, hash)
}

// StatefulSetDone judges a StatefulSet's rollout (RollingUpdate strategy)
// from its object and the pods its selector matches: the controller
// observed the latest generation, currentRevision = updateRevision, updated
// = ready = available = desired, and no pod is terminating or of another
// revision.
func StatefulSetDone(s *appsv1.StatefulSet, pods []corev1.Pod) Progress {
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return Progress{Failed: true, Reason: "updateStrategy OnDelete: the controller never replaces pods by itself"}
	}
	if s.Status.ObservedGeneration < s.Generation {
		return Progress{Reason: fmt.Sprintf("waiting for the controller to observe generation %d (observed %d)", s.Generation, s.Status.ObservedGeneration)}
	}
	want := int32(1)
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	st := s.Status
	if st.UpdatedReplicas != want || st.ReadyReplicas != want || st.AvailableReplicas != want || st.Replicas != want {
		return Progress{Reason: fmt.Sprintf("replicas: desired %d, updated %d, ready %d, available %d, total %d",
			want, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.Replicas)}
	}
	if st.UpdateRevision != "" && st.CurrentRevision != st.UpdateRevision {
		return Progress{Reason: fmt.Sprintf("current revision %s, update revision %s", st.CurrentRevision, st.UpdateRevision)}
	}
	return noTerminating(pods, appsv1.ControllerRevisionHashLabelKey, st.UpdateRevision)
}

// noTerminating is Done unless a pod is being deleted or its label key has
// another value than want.
func noTerminating(pods []corev1.Pod, key, want string) Progress {
	old, deleting := 0, 0
	for i := range pods {
		p := &pods[i]
		switch {
		case p.DeletionTimestamp != nil:
			deleting++
		case want != "" && p.Labels[key] != want:
			old++
		}
	}
	if deleting+old > 0 {
		return Progress{Reason: fmt.Sprintf("%d pod(s) terminating, %d of an old template still present", deleting, old)}
	}
	return Progress{Done: true}
}
