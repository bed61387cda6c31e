package grpclameduck

import (
	"context"
	"errors"
	"strings"

	"github.com/lameduck-dev/lameduck/stream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// healthPrefix starts the full method names of the health service, whose
// RPCs are probes rather than work: they are not held.
const healthPrefix = "/" + healthService + "/"

// track registers an RPC with the App (App.Hold: Stopping waits for it,
// /phase and Stats count it, the cut-off names it) and records it until the
// returned func is called. Health RPCs are not held.
//
// A call that reaches a handler after Stopping began — sent on an open
// connection before the client processed GracefulStop's GOAWAY — is served
// rather than refused: GracefulStop waits for every call the transport
// accepted (and Stopping waits for GracefulStop), while streams the client
// starts after the GOAWAY are refused by the transport itself with
// REFUSED_STREAM, which gRPC clients retry transparently on another
// connection. Refusing here instead would fail such calls with UNAVAILABLE
// in the gap between the App's gate closing and the GOAWAY arriving. Such a
// late call is not counted by App.Stats.
func (s *Server) track(ctx context.Context, method string) (release func()) {
	if strings.HasPrefix(method, healthPrefix) {
		return func() {}
	}
	var peerAddr string
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		peerAddr = p.Addr.String()
	}
	release, err := s.app.Hold("rpc", method, peerAddr)
	if err != nil {
		return func() {} // late: served unheld, see above
	}
	return release
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	defer s.track(ctx, info.FullMethod)()
	return handler(ctx, req)
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	defer s.track(ss.Context(), info.FullMethod)()
	if s.opts.KeepStreams {
		return handler(srv, ss)
	}
	ctx, stop := s.streamContext(ss.Context())
	defer stop()
	return goingAway(ctx, ss.Context(), handler(srv, &serverStream{ServerStream: ss, ctx: ctx}))
}

// streamContext returns a copy of parent cancelled with cause
// stream.ErrGoingAway when Stopping begins.
func (s *Server) streamContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	stop := context.AfterFunc(s.stopping, func() { cancel(stream.ErrGoingAway) })
	return ctx, func() { stop(); cancel(context.Canceled) }
}

// goingAway turns the error of a handler that returned because Stopping
// began (and not because the client left) into UNAVAILABLE, which tells
// the client to retry elsewhere.
func goingAway(ctx, rpcCtx context.Context, err error) error {
	if err == nil || rpcCtx.Err() != nil || !errors.Is(context.Cause(ctx), stream.ErrGoingAway) {
		return err
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Canceled && st.Code() != codes.Unknown {
		return err // the handler chose its status
	}
	return status.Error(codes.Unavailable, stream.ErrGoingAway.Error())
}

// serverStream replaces a stream's context.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }
