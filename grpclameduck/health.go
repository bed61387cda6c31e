package grpclameduck

import (
	"context"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// healthServer serves the App's health.Server, and ends Watch streams when
// Stopping begins: GracefulStop would otherwise wait for every client that
// watches the health of this replica until the cut-off.
type healthServer struct {
	healthpb.UnimplementedHealthServer
	s *Server
}

func (h *healthServer) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return h.s.health.Check(ctx, req)
}

func (h *healthServer) List(ctx context.Context, req *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	return h.s.health.List(ctx, req)
}

func (h *healthServer) Watch(req *healthpb.HealthCheckRequest, ws grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	ctx, stop := h.s.streamContext(ws.Context())
	defer stop()
	return goingAway(ctx, ws.Context(), h.s.health.Watch(req, &watchStream{ServerStreamingServer: ws, ctx: ctx}))
}

type watchStream struct {
	grpc.ServerStreamingServer[healthpb.HealthCheckResponse]
	ctx context.Context
}

func (w *watchStream) Context() context.Context { return w.ctx }
