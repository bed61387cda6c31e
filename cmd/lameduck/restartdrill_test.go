package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// restart-drill refuses bad flags with a usage error (exit 2) naming the
// flag and its range, before running anything.
func TestRestartDrillFlags(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"restart-drill", "--mode", "reload"}, `--mode must be all or a list of restart, activation, upgrade; got "reload"`},
		{[]string{"restart-drill", "--rate", "0"}, "--rate must be 1..10000"},
		{[]string{"restart-drill", "--restarts", "0"}, "--restarts must be 1..1000"},
		{[]string{"restart-drill", "--interval", "0s"}, "--interval must be positive"},
		{[]string{"restart-drill", "--upgrade-drain", "-1s"}, "must not be negative"},
		{[]string{"restart-drill", "serve", "--delay", "-1s"}, "--delay must not be negative"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.wantErr) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.wantErr)
		}
	}
}
