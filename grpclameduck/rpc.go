package grpclameduck

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/lameduck-dev/lameduck/stream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// rpc is an RPC in flight.
type rpc struct {
	method string
	peer   string
	start  time.Time
}

// track records an RPC until the returned func is called.
func (s *Server) track(ctx context.Context, method string) func() {
	r := &rpc{method: method, start: time.Now()}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		r.peer = p.Addr.String()
	}
	s.mu.Lock()
	s.rpcs[r] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.rpcs, r)
		s.mu.Unlock()
	}
}

// InFlight returns the number of RPCs in flight (counted by the
// interceptors of ServerOptions).
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rpcs)
}

// logRunning names every RPC still running, oldest first.
func (s *Server) logRunning() {
	now := time.Now()
	s.mu.Lock()
	rs := make([]*rpc, 0, len(s.rpcs))
	for r := range s.rpcs {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	sort.Slice(rs, func(i, j int) bool { return rs[i].start.Before(rs[j].start) })
	for _, r := range rs {
		args := []any{"kind", "rpc", "name", r.method, "age", now.Sub(r.start).Round(time.Millisecond),
			"phase", "Stopping", "server", s.name}
		if r.peer != "" {
			args = append(args, "peer", r.peer)
		}
		s.logger().Warn("lameduck: still running", args...)
	}
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
