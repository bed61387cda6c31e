package kube

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// snapshot is one state recorded by scripts/kube/capture.sh: the Deployment,
// its ReplicaSets and its pods.
type snapshot struct {
	name string
	d    appsv1.Deployment
	rss  []appsv1.ReplicaSet
	pods []corev1.Pod
}

func readSnapshots(t *testing.T, dir string) []snapshot {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "snap-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no snapshots in %s (%v)", dir, err)
	}
	var out []snapshot
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		s := snapshot{name: filepath.Base(f)}
		var list struct {
			Items []runtime.RawExtension `json:"items"`
		}
		if err := dec.Decode(&s.d); err != nil {
			t.Fatalf("%s: deployment: %v", f, err)
		}
		if err := dec.Decode(&list); err != nil {
			t.Fatalf("%s: list: %v", f, err)
		}
		for _, it := range list.Items {
			var kind struct{ Kind string }
			_ = json.Unmarshal(it.Raw, &kind)
			switch kind.Kind {
			case "ReplicaSet":
				var rs appsv1.ReplicaSet
				if err := json.Unmarshal(it.Raw, &rs); err != nil {
					t.Fatal(err)
				}
				s.rss = append(s.rss, rs)
			case "Pod":
				var p corev1.Pod
				if err := json.Unmarshal(it.Raw, &p); err != nil {
					t.Fatal(err)
				}
				s.pods = append(s.pods, p)
			}
		}
		out = append(out, s)
	}
	return out
}

func judge(s snapshot) Progress {
	return DeploymentDone(&s.d, NewReplicaSet(&s.d, s.rss), s.pods)
}

// kubectlDone is what `kubectl rollout status` accepts as complete.
func kubectlDone(d *appsv1.Deployment) bool {
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == *d.Spec.Replicas &&
		st.Replicas == st.UpdatedReplicas && st.AvailableReplicas == st.UpdatedReplicas
}

// TestDeploymentDoneOnARecordedRollout replays `kubectl rollout restart` of
// the lameduck demo (3 replicas, maxSurge 1, a 3 s drain in preStop),
// recorded on the test cluster: the first state is the finished previous
// rollout, then DeploymentDone stays false until the last old pod is gone,
// including in states where kubectl rollout status already says complete
// while old pods are still terminating; the last states are done.
func TestDeploymentDoneOnARecordedRollout(t *testing.T) {
	snaps := readSnapshots(t, "testdata/rollout-lameduck")
	if p := judge(snaps[0]); !p.Done {
		t.Fatalf("%s (before the restart): %+v, want done", snaps[0].name, p)
	}
	first := -1 // first not-done state after the restart
	lastNotDone := -1
	early := 0 // states kubectl calls complete but old pods still terminate
	for i, s := range snaps[1:] {
		p := judge(s)
		if !p.Done {
			if first < 0 {
				first = i + 1
			}
			lastNotDone = i + 1
			if p.Reason == "" {
				t.Errorf("%s: not done without a reason", s.name)
			}
			if kubectlDone(&s.d) {
				early++
				if !strings.Contains(p.Reason, "terminating") {
					t.Errorf("%s: kubectl says complete, DeploymentDone says %q; want a terminating pod named", s.name, p.Reason)
				}
			}
		}
	}
	if first != 1 {
		t.Errorf("the first state after the restart (%s) is judged done", snaps[1].name)
	}
	if lastNotDone == len(snaps)-1 {
		t.Fatalf("the last state %s is not done: %+v", snaps[len(snaps)-1].name, judge(snaps[len(snaps)-1]))
	}
	for _, s := range snaps[lastNotDone+1:] {
		if p := judge(s); !p.Done {
			t.Errorf("%s: %+v after done", s.name, p)
		}
	}
	if early == 0 {
		t.Errorf("no recorded state where kubectl says complete while old pods terminate; the recording lost its point")
	}
	t.Logf("%d states; done from %s; %d state(s) where kubectl rollout status was already complete", len(snaps), snaps[lastNotDone+1].name, early)
}

// TestDeploymentDoneUsesTerminatingReplicasWhenServed: where the API server
// serves status.terminatingReplicas (DeploymentReplicaSetTerminatingReplicas,
// off in 1.34, so the field is set by hand here on a recorded state) it
// decides, without looking at pods.
func TestDeploymentDoneUsesTerminatingReplicasWhenServed(t *testing.T) {
	snaps := readSnapshots(t, "testdata/rollout-lameduck")
	last := snaps[len(snaps)-1]
	two, zero := int32(2), int32(0)
	d := last.d.DeepCopy()
	d.Status.TerminatingReplicas = &two
	if p := DeploymentDone(d, nil, nil); p.Done || !strings.Contains(p.Reason, "2 pod(s) still terminating") {
		t.Fatalf("terminatingReplicas 2: %+v", p)
	}
	d.Status.TerminatingReplicas = &zero
	if p := DeploymentDone(d, nil, nil); !p.Done {
		t.Fatalf("terminatingReplicas 0: %+v", p)
	}
}

func TestDeploymentDoneGenerationAndDeadline(t *testing.T) {
	snaps := readSnapshots(t, "testdata/rollout-lameduck")
	d := snaps[len(snaps)-1].d.DeepCopy()
	d.Generation++
	if p := DeploymentDone(d, nil, nil); p.Done || !strings.Contains(p.Reason, "observe generation") {
		t.Fatalf("generation not observed: %+v", p)
	}
	d.Generation--
	d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{
		Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: "ReplicaSet has timed out progressing."})
	if p := DeploymentDone(d, nil, nil); !p.Failed {
		t.Fatalf("ProgressDeadlineExceeded: %+v", p)
	}
}
