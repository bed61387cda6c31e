package demo

import (
	"context"
	"log"
	"net"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/grpclameduck"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// GRPCMethod is the full name of the gRPC variants' increment method. To
// need no protoc, the gRPC variants implement UnaryCall of the interop
// TestService that ships with grpc (google.golang.org/grpc/interop/
// grpc_testing); its request and response are ignored, so any client may
// call it with an empty message.
const GRPCMethod = "/grpc.testing.TestService/UnaryCall"

// naiveGRPC is the unsafe gRPC service: it acknowledges at once and
// increments later in a goroutine nobody waits for.
type naiveGRPC struct {
	testpb.UnimplementedTestServiceServer
	st    *Store
	delay time.Duration
}

func (s *naiveGRPC) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	id := grpcRequestID(ctx)
	go func() {
		time.Sleep(s.delay) // the work the client was told is done
		if err := s.st.Commit(context.Background(), id); err != nil {
			log.Printf("incr: %v", err)
		}
	}()
	return &testpb.SimpleResponse{}, nil
}

// RunNaiveGRPC serves the naive gRPC variant on cfg.Addr until the process
// dies: a plain grpc.Server, no signal handling.
func RunNaiveGRPC(cfg Config) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	srv := grpc.NewServer()
	testpb.RegisterTestServiceServer(srv, &naiveGRPC{st: cfg.store(rdb), delay: cfg.Delay})
	return srv.Serve(ln)
}

// gracefulGRPC is the same service with the increment tracked by app.
type gracefulGRPC struct {
	testpb.UnimplementedTestServiceServer
	app   *lameduck.App
	st    *Store
	delay time.Duration
}

func (s *gracefulGRPC) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	id := grpcRequestID(ctx)
	err := s.app.Go("incr", func(ctx context.Context) error {
		t := time.NewTimer(s.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done(): // the shutdown budget ran out
			return context.Cause(ctx)
		}
		return s.st.Commit(ctx, id)
	})
	if err != nil {
		// Not acknowledged: the client may retry on another replica.
		return nil, status.Error(codes.Unavailable, "shutting down")
	}
	return &testpb.SimpleResponse{}, nil
}

// NewGracefulGRPC returns the lameduck gRPC variant, ready to Run: the gRPC
// service on ln (through grpclameduck: RPCs held, health service,
// GracefulStop), the admin endpoints with /readyz on cfg.AdminAddr, the
// Redis client closed last.
func NewGracefulGRPC(cfg Config, ln net.Listener, opts lameduck.Options) *lameduck.App {
	app := lameduck.New(opts)
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	g := grpclameduck.New(app, grpclameduck.Options{})
	srv := grpc.NewServer(g.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, &gracefulGRPC{app: app, st: cfg.store(rdb), delay: cfg.Delay})
	g.Serve(srv, ln)
	app.Admin(cfg.AdminAddr)
	app.Close("redis", rdb.Close)
	return app
}

// RunGracefulGRPC runs the lameduck gRPC variant and returns its exit code
// (lameduck.ExitConfig when cfg.Addr cannot be listened on).
func RunGracefulGRPC(cfg Config) int {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Printf("counter: %v", err)
		return lameduck.ExitConfig
	}
	return NewGracefulGRPC(cfg, ln, lameduck.Options{}).Run()
}
