package grpclameduck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/grpclameduck"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// runChild is the service the end-to-end tests stop with SIGTERM: the
// TestService over gRPC, and over HTTP the admin endpoints (/phase counts
// the RPCs in flight).
func runChild() int {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	app := lameduck.New(lameduck.Options{})
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 2
	}
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 2
	}
	g := grpclameduck.New(app, grpclameduck.Options{})
	srv := grpc.NewServer(g.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, testService{})
	g.Serve(srv, gln)

	mux := http.NewServeMux()
	mux.Handle("/", app.AdminHandler())
	app.ServeListener(&http.Server{Handler: mux}, hln)
	go func() {
		select {
		case <-app.Entered(lameduck.Serving):
			fmt.Printf("READY grpc=%s http=%s\n", gln.Addr(), hln.Addr())
		case <-app.Entered(lameduck.Draining):
		}
	}()
	return app.Run()
}

func httpGet(url string) (string, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b [512]byte
	n, _ := resp.Body.Read(b[:])
	return string(b[:n]), nil
}

func childPhase(c *child) string {
	body, err := httpGet("http://" + c.http + "/phase")
	if err != nil {
		return "unreachable: " + err.Error()
	}
	var st struct{ Phase string }
	_ = json.Unmarshal([]byte(body), &st)
	return st.Phase
}

// waitRPCs waits until the child's App has n RPCs in flight (/phase).
func waitRPCs(t *testing.T, c *child, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		var st lameduck.PhaseStatus
		body, err := httpGet("http://" + c.http + "/phase")
		if err == nil && json.Unmarshal([]byte(body), &st) == nil && st.InFlight >= int64(n) {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("RPCs in flight: %q (%v), want %d", body, err, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestSIGTERMDrainsGRPC stops a gRPC service with a real SIGTERM while a
// unary call is in flight, a server-streaming call and a health Watch are
// open, and a client sits on a connection without a handshake: the health
// flips to NOT_SERVING while Draining, the unary call completes, the
// streams end with UNAVAILABLE at Stopping, and the process exits 0 long
// before its budget is spent.
func TestSIGTERMDrainsGRPC(t *testing.T) {
	c := startChild(t, "LAMEDUCK_DRAIN_DELAY=1s")
	cc := dialGRPC(t, c.grpc)
	ws, err := healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := ws.Recv(); err != nil || m.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health while serving: %v, %v", m.GetStatus(), err)
	}
	health := make(chan watchUpdate, 4)
	go func() {
		for {
			m, err := ws.Recv()
			if err != nil {
				health <- watchUpdate{err: err}
				return
			}
			health <- watchUpdate{status: m.GetStatus()}
		}
	}()
	unary := make(chan error, 1)
	go func() {
		_, err := testpb.NewTestServiceClient(cc).UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseSize: 1500})
		unary <- err
	}()
	st, err := testpb.NewTestServiceClient(cc).StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	streamEnd := make(chan error, 1)
	go func() {
		for {
			if _, err := st.Recv(); err != nil {
				streamEnd <- err
				return
			}
		}
	}()
	silent, err := net.Dial("tcp", c.grpc)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitRPCs(t, c, 2) // unary, stream (the health watch, a probe, is not held)
	sent := c.term()

	u := next(t, "health update", health)
	phase := childPhase(c)
	if u.status != healthpb.HealthCheckResponse_NOT_SERVING || phase != "Draining" {
		t.Errorf("after SIGTERM the health said %v (err %v) with the service in %q; want NOT_SERVING while Draining", u.status, u.err, phase)
	}
	if err := next(t, "unary call", unary); err != nil {
		t.Errorf("unary call in flight: %v, want success", err)
	}
	if err := next(t, "stream", streamEnd); code(err) != codes.Unavailable {
		t.Errorf("server stream ended with %v, want UNAVAILABLE", err)
	}
	if u := next(t, "health watch end", health); code(u.err) != codes.Unavailable {
		t.Errorf("health watch ended with %v, want UNAVAILABLE", u.err)
	}
	exit, took := c.wait(sent, 2*grace)
	if exit != 0 {
		t.Errorf("exit code %d, want 0; still running: %v", exit, c.stillRunning())
	}
	t.Logf("exit %d %v after SIGTERM", exit, took.Round(time.Millisecond))
}

// TestSIGTERMCutsIgnoringStream: a streaming handler that ignores its
// context holds GracefulStop until the budget is spent; then Stop cuts it,
// the RPC is named in the log, and the process exits 1 before the grace
// period ends.
func TestSIGTERMCutsIgnoringStream(t *testing.T) {
	c := startChild(t)
	cc := dialGRPC(t, c.grpc)
	st, err := testpb.NewTestServiceClient(cc).StreamingOutputCall(context.Background(),
		&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("ignore")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	streamEnd := make(chan error, 1)
	go func() {
		for {
			if _, err := st.Recv(); err != nil {
				streamEnd <- err
				return
			}
		}
	}()
	sent := c.term()
	if err := next(t, "stream", streamEnd); code(err) != codes.Unavailable {
		t.Errorf("stream ended with %v, want UNAVAILABLE", err)
	}
	exit, took := c.wait(sent, 2*grace)
	if exit != 1 {
		t.Errorf("exit code %d, want 1", exit)
	}
	if took >= grace {
		t.Errorf("exited %v after SIGTERM, after the grace period %v", took, grace)
	}
	if r := c.stillRunning(); !slices.Contains(r, "rpc /grpc.testing.TestService/StreamingOutputCall") {
		t.Errorf("still-running records %q do not name the stream", r)
	}
	t.Logf("exit %d %v after SIGTERM; cut: %v", exit, took.Round(time.Millisecond), c.stillRunning())
}
