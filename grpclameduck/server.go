package grpclameduck

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/stream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
)

// Defaults of ServerOptions.
const (
	// DefaultMaxConnectionAge is the keepalive MaxConnectionAge set by
	// ServerOptions: connections are recycled (GOAWAY) after about this
	// long, so clients rebalance over the replicas.
	DefaultMaxConnectionAge = 5 * time.Minute
	// DefaultConnectionTimeout bounds a new connection's handshake
	// (grpc.ConnectionTimeout; gRPC's own default is 120s).
	DefaultConnectionTimeout = 10 * time.Second
)

// hardStopWait bounds how long the worker waits for grpc's Stop to return
// once every connection has been closed.
const hardStopWait = time.Second

// healthService is the name of the standard health service.
const healthService = "grpc.health.v1.Health"

// Options configure a Server. The zero value is ready to use.
type Options struct {
	// Name names the server in the App's logs (worker and closer names).
	// Default: "grpc <listen address>".
	Name string
	// Logger receives the server's own records (a server that did not
	// stop). Default: the App's logger (App.Logger). RPCs cut off at the
	// end of Stopping are named by the App, as "lameduck: still running"
	// records with kind=rpc, since the interceptors register them with
	// App.Hold.
	Logger *slog.Logger
	// KeepStreams leaves streaming RPCs running when Stopping begins
	// instead of cancelling their contexts: GracefulStop then waits for
	// them until the cut-off.
	KeepStreams bool
}

// Server runs one *grpc.Server through an App's phases. Create it with New
// before building the grpc.Server (its ServerOptions go into grpc.NewServer),
// then call Serve before App.Run.
type Server struct {
	app    *lameduck.App
	opts   Options
	health *health.Server

	// stopping is cancelled, with cause stream.ErrGoingAway, when Stopping
	// begins: it ends streaming RPCs.
	stopping context.Context
	stop     context.CancelCauseFunc

	mu     sync.Mutex
	srv    *grpc.Server
	ln     *listener
	name   string
	served bool
	done   chan struct{} // closed when the worker has returned
}

// New returns a Server for app.
func New(app *lameduck.App, o Options) *Server {
	s := &Server{app: app, opts: o, health: health.NewServer(), done: make(chan struct{})}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s.stopping, s.stop = context.WithCancelCause(context.Background())
	return s
}

// Serve is New(app, Options{}).Serve(srv, ln), for a grpc.Server built
// without ServerOptions: health, GracefulStop and the fall-back to Stop
// work; streaming RPCs are not ended at Stopping (only health Watch
// streams are) and RPCs are not registered with App.Hold: Stopping waits
// for them only through GracefulStop, Stats does not count them and the
// cut-off does not name them.
func Serve(app *lameduck.App, srv *grpc.Server, ln net.Listener) *Server {
	s := New(app, Options{})
	s.Serve(srv, ln)
	return s
}

// ServerOptions returns the options to pass to grpc.NewServer: interceptors
// that track RPCs and end streams when Stopping begins, keepalive
// MaxConnectionAge = DefaultMaxConnectionAge and ConnectionTimeout =
// DefaultConnectionTimeout. Options passed after them win:
// grpc.KeepaliveParams replaces the whole keepalive.ServerParameters, and
// more interceptors run inside these.
func (s *Server) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: DefaultMaxConnectionAge}),
		grpc.ConnectionTimeout(DefaultConnectionTimeout),
	}
}

// Health returns the health server registered by Serve, to set the status
// of single services while Serving. From Draining on it answers
// NOT_SERVING for everything and ignores changes.
func (s *Server) Health() *health.Server { return s.health }

// Serve registers srv with the App: it registers the standard health
// service on srv (do not register one yourself) and a worker that serves
// srv on ln from Run's start until Stopping, and a closer that waits for a
// hard stop to finish. Call it once, before App.Run, after registering
// srv's services.
func (s *Server) Serve(srv *grpc.Server, ln net.Listener) {
	s.mu.Lock()
	if s.served {
		s.mu.Unlock()
		panic("grpclameduck: Serve called twice")
	}
	s.served = true
	s.srv = srv
	s.ln = &listener{Listener: ln, conns: make(map[*conn]struct{})}
	s.name = s.opts.Name
	if s.name == "" {
		s.name = "grpc " + ln.Addr().String()
	}
	s.mu.Unlock()
	if _, ok := srv.GetServiceInfo()[healthService]; ok {
		panic("grpclameduck: the grpc.Server already has a health service; Serve registers its own (see Server.Health)")
	}
	healthpb.RegisterHealthServer(srv, &healthServer{s: s})
	s.app.Worker(s.name, s.run)
	s.app.CloseContext(s.name, s.waitStopped)
}

// run is the App worker: it serves until Stopping begins, then stops srv
// gracefully, or hard at the cut-off.
func (s *Server) run(ctx context.Context) error {
	defer close(s.done)
	quit := make(chan struct{})
	defer close(quit)
	s.setAll(healthpb.HealthCheckResponse_NOT_SERVING)
	go s.followPhases(quit)

	served := make(chan struct{}) // closed when srv.Serve has returned
	go func() {
		defer close(served)
		if err := s.srv.Serve(s.ln); err != nil && ctx.Err() == nil {
			// The listener failed: the whole App stops, and this server
			// still goes through the graceful stop below.
			s.app.Fatal(fmt.Errorf("grpclameduck: %s: %w", s.name, err))
		}
	}()
	<-ctx.Done()

	// Stopping.
	s.stop(stream.ErrGoingAway)
	s.ln.stopHandshakes()
	graceful := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(graceful)
	}()
	select {
	case <-graceful:
	case <-s.app.CutOff():
		// The App names the RPCs still running (they are held).
		go s.srv.Stop()
		s.ln.closeAll() // Stop waits for handshakes in progress
	}
	select {
	case <-served:
	case <-time.After(hardStopWait):
		s.logger().Error("lameduck: grpc server did not stop", "server", s.name)
	}
	return nil
}

// followPhases keeps the health service in step with the App's phase.
func (s *Server) followPhases(quit <-chan struct{}) {
	select {
	case <-s.app.Entered(lameduck.Draining):
	case <-s.app.Entered(lameduck.Serving):
		select {
		case <-s.app.Entered(lameduck.Draining):
		default:
			s.setAll(healthpb.HealthCheckResponse_SERVING)
		}
	case <-quit:
		return
	}
	select {
	case <-s.app.Entered(lameduck.Draining):
		s.health.Shutdown() // NOT_SERVING everywhere, pushed to Watch streams
	case <-quit:
		s.health.Shutdown()
	}
}

// setAll sets the status of "" and of every service registered on srv.
func (s *Server) setAll(st healthpb.HealthCheckResponse_ServingStatus) {
	s.health.SetServingStatus("", st)
	for name := range s.srv.GetServiceInfo() {
		if name != healthService {
			s.health.SetServingStatus(name, st)
		}
	}
}

// waitStopped is the closer: it waits for the worker, which after a cut-off
// may still be stopping srv while the App moves on.
func (s *Server) waitStopped(ctx context.Context) error {
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("grpclameduck: %s still stopping: %w", s.name, context.Cause(ctx))
	}
}

func (s *Server) logger() *slog.Logger {
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return s.app.Logger()
}

// ErrGoingAway is the cause of a streaming RPC's context cancelled when
// Stopping begins; the same value as stream.ErrGoingAway.
var ErrGoingAway = stream.ErrGoingAway
