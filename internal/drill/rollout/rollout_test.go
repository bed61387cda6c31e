package rollout

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFenceposts(t *testing.T) {
	tests := []struct {
		replicas       int
		surge, unavail IntOrPercent
		wantS, wantU   int
		wantErr        bool
	}{
		{3, "25%", "25%", 1, 0, false},  // 0.75 up -> 1, 0.75 down -> 0
		{4, "25%", "25%", 1, 1, false},  // exact
		{10, "25%", "25%", 3, 2, false}, // 2.5 -> 3 and 2
		{1, "25%", "25%", 1, 0, false},
		{3, "0", "0", 0, 1, false},    // both zero: unavailable becomes 1
		{3, "0%", "10%", 0, 1, false}, // 0.3 down -> 0, then fencepost rule
		{5, "2", "1", 2, 1, false},
		{3, "100%", "0", 3, 0, false},
		{3, "x%", "0", 0, 0, true},
		{3, "1", "-1", 0, 0, true},
	}
	for _, tt := range tests {
		s, u, err := Fenceposts(tt.replicas, tt.surge, tt.unavail)
		if (err != nil) != tt.wantErr {
			t.Errorf("Fenceposts(%d, %q, %q) error = %v, wantErr %v", tt.replicas, tt.surge, tt.unavail, err, tt.wantErr)
			continue
		}
		if err == nil && (s != tt.wantS || u != tt.wantU) {
			t.Errorf("Fenceposts(%d, %q, %q) = %d, %d; want %d, %d", tt.replicas, tt.surge, tt.unavail, s, u, tt.wantS, tt.wantU)
		}
	}
}

func TestScaleUpDown(t *testing.T) {
	tests := []struct {
		name               string
		s                  State
		up                 int
		unhealthy, healthy int
	}{
		{"start surge 1", State{3, 1, 0, 0, 0, 3, 3}, 1, 0, 0},
		{"new not ready: nothing to delete", State{3, 1, 0, 1, 0, 3, 3}, 0, 0, 0},
		{"new available: delete one old", State{3, 1, 0, 1, 1, 3, 3}, 0, 0, 1},
		{"after delete: surge again", State{3, 1, 0, 1, 1, 2, 2}, 1, 0, 0},
		{"last step", State{3, 1, 0, 3, 3, 1, 1}, 0, 0, 1},
		{"unavailable 1 surge 1: create and delete at once", State{4, 1, 1, 0, 0, 4, 4}, 1, 0, 1},
		{"unhealthy old first", State{3, 1, 0, 1, 1, 3, 2}, 0, 1, 0},
		{"surge 0 unavailable 1", State{3, 0, 1, 0, 0, 3, 3}, 0, 0, 1},
		{"surge 0 unavailable 1 then create", State{3, 0, 1, 0, 0, 2, 2}, 1, 0, 0},
		{"all new, old gone", State{3, 1, 0, 3, 3, 0, 0}, 0, 0, 0},
		{"big surge creates all", State{3, 3, 0, 0, 0, 3, 3}, 3, 0, 0},
	}
	for _, tt := range tests {
		if got := ScaleUp(tt.s); got != tt.up {
			t.Errorf("%s: ScaleUp = %d, want %d", tt.name, got, tt.up)
		}
		u, h := ScaleDown(tt.s)
		if u != tt.unhealthy || h != tt.healthy {
			t.Errorf("%s: ScaleDown = %d, %d; want %d, %d", tt.name, u, h, tt.unhealthy, tt.healthy)
		}
	}
}

// TestSimulatedRollout runs the arithmetic to completion with pods that
// become available at once, and checks the invariants on every step.
func TestSimulatedRollout(t *testing.T) {
	for _, tc := range []struct {
		replicas       int
		surge, unavail IntOrPercent
	}{{3, "25%", "25%"}, {4, "25%", "25%"}, {10, "25%", "25%"}, {3, "0", "0"}, {5, "100%", "0"}} {
		ms, mu, err := Fenceposts(tc.replicas, tc.surge, tc.unavail)
		if err != nil {
			t.Fatal(err)
		}
		s := State{Replicas: tc.replicas, MaxSurge: ms, MaxUnavailable: mu, Old: tc.replicas, OldAvailable: tc.replicas}
		for step := 0; !Done(s); step++ {
			if step > 100 {
				t.Fatalf("%+v: rollout does not converge: %+v", tc, s)
			}
			up := ScaleUp(s)
			s.New += up
			uh, h := ScaleDown(s)
			s.Old -= uh + h
			s.OldAvailable -= h
			if s.New+s.Old > tc.replicas+ms {
				t.Fatalf("%+v: %d pods exceed replicas+maxSurge", tc, s.New+s.Old)
			}
			if s.NewAvailable+s.OldAvailable < tc.replicas-mu {
				t.Fatalf("%+v: availability %d below replicas-maxUnavailable", tc, s.NewAvailable+s.OldAvailable)
			}
			s.NewAvailable = s.New // new pods become available before the next reconcile
		}
	}
}
