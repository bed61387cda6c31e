// Package rollout holds the replica arithmetic of a Kubernetes Deployment's
// RollingUpdate strategy, as pure functions.
//
// The numbers follow the deployment controller (pkg/controller/deployment in
// kubernetes/kubernetes): maxSurge rounds up and maxUnavailable rounds down
// when given as percentages; when both resolve to 0, maxUnavailable becomes
// 1; terminating pods are not counted at all (a ReplicaSet's replica count
// drops as soon as a pod is deleted).
package rollout

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Default values of a Deployment's RollingUpdate strategy.
const (
	DefaultMaxSurge       = "25%"
	DefaultMaxUnavailable = "25%"
)

// IntOrPercent is an absolute number ("1") or a percentage of the desired
// replicas ("25%"), like Kubernetes' IntOrString.
type IntOrPercent string

// Resolve turns v into an absolute number for the given replica count,
// rounding up or down as asked.
func (v IntOrPercent) Resolve(replicas int, roundUp bool) (int, error) {
	s := strings.TrimSpace(string(v))
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.Atoi(pct)
		if err != nil || p < 0 {
			return 0, fmt.Errorf("invalid percentage %q: want an integer like 25%%", s)
		}
		x := float64(p) * float64(replicas) / 100
		if roundUp {
			return int(math.Ceil(x)), nil
		}
		return int(math.Floor(x)), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid value %q: want a non-negative integer or a percentage like 25%%", s)
	}
	return n, nil
}

// Fenceposts resolves maxSurge (rounded up) and maxUnavailable (rounded down)
// for the given replica count. When both are 0, maxUnavailable is 1, as the
// deployment controller does, so that a rollout can always progress.
func Fenceposts(replicas int, maxSurge, maxUnavailable IntOrPercent) (surge, unavailable int, err error) {
	if surge, err = maxSurge.Resolve(replicas, true); err != nil {
		return 0, 0, fmt.Errorf("maxSurge: %w", err)
	}
	if unavailable, err = maxUnavailable.Resolve(replicas, false); err != nil {
		return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable, nil
}

// State is what the controller sees at one reconcile. Counts exclude
// terminating pods.
type State struct {
	Replicas       int // desired replicas (spec.replicas)
	MaxSurge       int // resolved
	MaxUnavailable int // resolved
	New            int // pods of the new revision (created, not terminating)
	NewAvailable   int // of which available (ready for minReadySeconds)
	Old            int // pods of old revisions (not terminating)
	OldAvailable   int // of which available
}

// ScaleUp returns how many new pods to create now (NewRSNewReplicas).
func ScaleUp(s State) int {
	maxTotal := s.Replicas + s.MaxSurge
	current := s.New + s.Old
	if current >= maxTotal {
		return 0
	}
	return max(0, min(maxTotal-current, s.Replicas-s.New))
}

// ScaleDown returns how many old pods to delete now (reconcileOldReplicaSets):
// first unhealthy ones (not available), then available ones as long as the
// available count stays at or above Replicas - MaxUnavailable.
func ScaleDown(s State) (unhealthy, healthy int) {
	minAvailable := s.Replicas - s.MaxUnavailable
	newUnavailable := s.New - s.NewAvailable
	maxScaledDown := s.New + s.Old - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return 0, 0
	}
	unhealthy = min(s.Old-s.OldAvailable, maxScaledDown)
	// scaleDownOldReplicaSetsForRollingUpdate, after the cleanup.
	available := s.NewAvailable + s.OldAvailable
	if available > minAvailable {
		healthy = min(available-minAvailable, s.OldAvailable)
	}
	return unhealthy, healthy
}

// Done reports whether the rollout is complete: every desired pod is of the
// new revision and available, and no old pod is left.
func Done(s State) bool {
	return s.Old == 0 && s.New == s.Replicas && s.NewAvailable == s.Replicas
}
