package main

import (
	"strings"
	"testing"

	"github.com/lameduck-dev/lameduck/internal/drill"
	"github.com/lameduck-dev/lameduck/internal/drill/loadretry"
	"go.uber.org/goleak"
)

// TestDrillChaosInputChecks: bad --chaos, --chaos-scope, --chaos-window
// and --retry values are refused with exit 2, naming the flag and range.
func TestDrillChaosInputChecks(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"zero kills", []string{"drill", "--chaos", "0", "--", "true"}, "--chaos: chaos \"0\": want a count of kills in [1, 1000]"},
		{"not a number", []string{"drill", "--chaos", "lots", "--", "true"}, "or a rate like 0.5/s"},
		{"zero rate", []string{"drill", "--chaos", "0/s", "--", "true"}, "want a rate in (0, 100] kills per second"},
		{"bad scope", []string{"drill", "--chaos", "2", "--chaos-scope", "zone", "--", "true"}, "chaos scope \"zone\": want replica or node"},
		{"zero window", []string{"drill", "--chaos", "2", "--chaos-window", "0", "--", "true"}, "--chaos-window 0s: want a duration > 0"},
		{"retry with grpc", []string{"drill", "--retry", "--protocol", "grpc", "--", "true"}, "--retry is for --protocol http"},
		{"crashsafe with grpc", []string{"drill", "--demo-variant", "crashsafe", "--protocol", "grpc"}, "--demo-variant crashsafe is an HTTP service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.wantErr)
			}
		})
	}
}

// TestDrillChaosHelpSaysDuringRollouts: --help says when the kills happen:
// during the rollouts, over a window from the first rollout's trigger.
func TestDrillChaosHelpSaysDuringRollouts(t *testing.T) {
	defer goleak.VerifyNone(t)
	code, out, errOut := runCLI(t, "", "drill", "--help")
	help := strings.Join(strings.Fields(out+errOut), " ")
	for _, want := range []string{"while the rollouts run", "from the first rollout's trigger"} {
		if code != 0 || !strings.Contains(help, want) {
			t.Fatalf("exit %d, drill --help does not say %q:\n%s", code, want, out+errOut)
		}
	}
	if strings.Contains(help, "after the rollouts, SIGKILL") {
		t.Fatalf("drill --help still says the kills come after the rollouts")
	}
}

// TestRetryBudgetDefault: with --retry, --timeout is the whole request's
// budget and defaults to loadretry.DefaultBudget; a given --timeout stays,
// and without --retry the default is the drill's own.
func TestRetryBudgetDefault(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--retry"}, loadretry.DefaultBudget.String()},
		{[]string{"--retry", "--timeout", "3s"}, "3s"},
		{nil, drill.DefaultTimeout.String()},
	} {
		fl := newDrillCmd().Flags()
		if err := fl.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := retryBudget(fl); err != nil || fl.Lookup("timeout").Value.String() != tc.want {
			t.Errorf("%v: --timeout %v (%v), want %v", tc.args, fl.Lookup("timeout").Value, err, tc.want)
		}
	}
}
