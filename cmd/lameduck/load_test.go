package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/lameduck-dev/lameduck/internal/drill/kube/podload"
	"go.uber.org/goleak"
)

// TestLoadFlags: lameduck load refuses bad flags with exit 2, naming the flag
// and its range, before sending anything.
func TestLoadFlags(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"load"}, "--url is required"},
		{[]string{"load", "--url", "http://127.0.0.1:1/", "--rate", "0"}, "--rate must be 1..10000, not 0"},
		{[]string{"load", "--url", "http://127.0.0.1:1/", "--duration", "2h"}, "--duration must be in (0, 1h]"},
		{[]string{"load", "--url", "http://127.0.0.1:1/", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"load", "--url", "http://127.0.0.1:1/", "--clients", "0"}, "--clients must be 1..256, not 0"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.wantErr) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.wantErr)
		}
	}
}

// TestLoadRuns sends a short load to a real server and decodes the output.
func TestLoadRuns(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	go srv.Serve(ln)
	defer srv.Close()
	code, out, errOut := runCLI(t, "", "load", "--url", fmt.Sprintf("http://%s/incr", ln.Addr()), "--rate", "50", "--duration", "200ms", "--run-id", "cli")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs, sum, err := podload.Decode(strings.NewReader(out))
	if err != nil || sum == nil || sum.Sent != 10 || sum.OK != 10 || len(recs) != 10 {
		t.Fatalf("decoded %d records, summary %+v, %v; want 10 sent, 10 ok", len(recs), sum, err)
	}
}
