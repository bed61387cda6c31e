package grpclameduck_test

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// testService is the interop TestService that ships with grpc, so the
// tests need no generated code of their own.
type testService struct {
	testpb.UnimplementedTestServiceServer
}

// UnaryCall sleeps ResponseSize milliseconds (ignoring its context: work in
// flight is meant to complete), then echoes the payload.
func (testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	time.Sleep(time.Duration(req.GetResponseSize()) * time.Millisecond)
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

// StreamingOutputCall sends a message every 20ms until its context ends.
// With the payload "ignore" it ignores its context and ends only when a
// Send fails.
func (testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss testpb.TestService_StreamingOutputCallServer) error {
	ignore := string(req.GetPayload().GetBody()) == "ignore"
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if ignore {
			<-t.C
		} else {
			select {
			case <-ss.Context().Done():
				return ss.Context().Err()
			case <-t.C:
			}
		}
		if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// EmptyCall answers with the status named by... nothing: it is the cheap
// call that probes whether a server still answers.
func (testService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

// code returns err's gRPC status code.
func code(err error) codes.Code { return status.Code(err) }
