package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestGracefulStop: a unary call in flight completes, a stream ends with
// UNAVAILABLE, the health says NOT_SERVING, and Run returns 0.
func TestGracefulStop(t *testing.T) {
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv, GracePeriod: 10 * time.Second,
		DrainDelay: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newServer(app, ln, 10*time.Millisecond)
	code := make(chan int, 1)
	go func() { code <- app.Run() }()
	select {
	case <-app.Entered(lameduck.Serving):
	case <-time.After(10 * time.Second):
		t.Fatal("not serving")
	}
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tc := testpb.NewTestServiceClient(cc)
	st, err := tc.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	unary := make(chan error, 1)
	go func() {
		_, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 500})
		unary <- err
	}()
	for app.Stats().InFlight < 2 {
		select {
		case <-ctx.Done():
			t.Fatal("the unary call never arrived")
		case <-time.After(5 * time.Millisecond):
		}
	}
	app.Shutdown(errors.New("test"))
	select {
	case <-app.Entered(lameduck.Draining):
	case <-ctx.Done():
		t.Fatal("not draining")
	}
	if res, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || res.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health while draining: %v, %v", res.GetStatus(), err)
	}
	for {
		if _, err = st.Recv(); err != nil {
			break
		}
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("stream ended with %v, want UNAVAILABLE", err)
	}
	select {
	case err := <-unary:
		if err != nil {
			t.Errorf("unary call in flight: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("unary call did not return")
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("Run = %d, want 0", c)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return")
	}
}
