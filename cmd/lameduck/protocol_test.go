package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestProtocolFlags: drill and demo accept --protocol http|grpc and refuse
// anything else, or HTTP-only flags with grpc, with a usage error (exit 2)
// before running anything.
func TestProtocolFlags(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"drill unknown protocol", []string{"drill", "--protocol", "h3"}, `--protocol must be http or grpc, not "h3"`},
		{"drill grpc with a body", []string{"drill", "--protocol", "grpc", "--body", "x", "--", "true"}, "--body and --header are for --protocol http"},
		{"drill grpc bad method", []string{"drill", "--protocol", "grpc", "--path", "/incr", "--", "true"}, `gRPC method "/incr"`},
		{"demo unknown protocol", []string{"demo", "--protocol", "GRPC"}, `--protocol must be http or grpc, not "GRPC"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.wantErr)
			}
		})
	}
}
