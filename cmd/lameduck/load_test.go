package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
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

// TestLoadRetry: --retry sends the request id as Idempotency-Key and
// records the attempt a 503 + Retry-After cost.
func TestLoadRetry(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if k := r.Header.Get("Idempotency-Key"); k != `"`+r.Header.Get(podload.RequestIDHeader)+`"` {
			t.Errorf("Idempotency-Key %q for request %q", k, r.Header.Get(podload.RequestIDHeader))
		}
		if seen[r.Header.Get(podload.RequestIDHeader)]++; seen[r.Header.Get(podload.RequestIDHeader)] == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	code, out, errOut := runCLI(t, "", "load", "--url", fmt.Sprintf("http://%s/incr", ln.Addr()), "--rate", "20", "--duration", "100ms",
		"--timeout", "5s", "--run-id", "cli", "--retry")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs, sum, err := podload.Decode(strings.NewReader(out))
	if err != nil || sum == nil || sum.Sent != 2 || sum.OK != 2 || sum.Retried != 2 || sum.Attempts != 2 || len(recs) != 2 {
		t.Fatalf("decoded %d records, summary %+v, %v; want 2 sent, 2 ok, both retried once", len(recs), sum, err)
	}
	for _, r := range recs {
		if len(r.Attempts) != 1 || r.Attempts[0].Code != 503 || r.Attempts[0].Reason != "retry_after" {
			t.Errorf("record %+v: want one earlier attempt, 503 retry_after", r)
		}
	}
	if code, out, _ := runCLI(t, "", "load", "--help"); code != 0 || !strings.Contains(out, "--retry") || !strings.Contains(out, "Idempotency-Key") {
		t.Errorf("load --help: exit %d, does not explain --retry:\n%s", code, out)
	}
}
