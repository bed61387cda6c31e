// Command grpc is a gRPC server run by lameduck: the standard health
// service turns NOT_SERVING when the shutdown starts, unary calls in flight
// complete, server streams end with UNAVAILABLE when Stopping begins (the
// client retries on another replica), and whatever ignores all that is cut
// when the budget is spent.
//
//	go run ./examples/grpc
//	grpcurl -plaintext localhost:9090 grpc.health.v1.Health/Watch   # SERVING … NOT_SERVING
//	grpcurl -plaintext -d '{}' localhost:9090 grpc.testing.TestService/StreamingOutputCall
//	# Ctrl-C the server (or curl -X POST localhost:8081/drain)
//
// To need no protoc, it implements the interop TestService that ships with
// grpc (google.golang.org/grpc/interop/grpc_testing); a service generated
// from your own .proto registers the same way.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/grpclameduck"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

func main() {
	app := lameduck.New(lameduck.Options{})
	ln, err := net.Listen("tcp", addr("PORT", ":9090"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(lameduck.ExitConfig)
	}
	newServer(app, ln, time.Second)
	app.Admin(addr("ADMIN_PORT", ":8081"))
	os.Exit(app.Run())
}

// newServer builds the gRPC server and hands it to app.
func newServer(app *lameduck.App, ln net.Listener, every time.Duration) *grpclameduck.Server {
	g := grpclameduck.New(app, grpclameduck.Options{})
	// ServerOptions: interceptors that end streams at Stopping and name
	// RPCs cut off, keepalive MaxConnectionAge 5m, handshake timeout 10s.
	srv := grpc.NewServer(g.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, &service{every: every})
	g.Serve(srv, ln) // registers grpc.health.v1.Health too
	return g
}

type service struct {
	testpb.UnimplementedTestServiceServer
	every time.Duration
}

// UnaryCall takes ResponseSize milliseconds of work, then echoes the
// payload. Work in flight completes during a graceful stop.
func (s *service) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	select {
	case <-time.After(time.Duration(req.GetResponseSize()) * time.Millisecond):
	case <-ctx.Done(): // the client gave up, or the budget is spent
		return nil, ctx.Err()
	}
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

// StreamingOutputCall sends a message every interval until the client
// leaves or the server stops: its context is cancelled when Stopping
// begins, and returning then ends the call with UNAVAILABLE.
func (s *service) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss testpb.TestService_StreamingOutputCallServer) error {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ss.Context().Done():
			return ss.Context().Err()
		case <-t.C:
			if err := ss.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
				return err
			}
		}
	}
}

func addr(env, def string) string {
	if p := os.Getenv(env); p != "" {
		return ":" + p
	}
	return def
}
