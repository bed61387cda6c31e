// Package grpclameduck runs a *grpc.Server through a lameduck App's
// shutdown phases, as App.Serve does for an *http.Server. It lives apart
// from package lameduck so that the core never imports gRPC.
//
//	app := lameduck.New(lameduck.Options{})
//	g := grpclameduck.New(app, grpclameduck.Options{})
//	srv := grpc.NewServer(g.ServerOptions()...)
//	pb.RegisterGreeterServer(srv, greeter{})
//	ln, err := net.Listen("tcp", ":9090") // fail at start-up, exit 2, if taken
//	...
//	g.Serve(srv, ln)
//	os.Exit(app.Run())
//
// Serve(app, srv, ln) does the same for a server built without
// ServerOptions; it then cannot end streams at Stopping or register RPCs
// with the App.
//
// # RPCs are held
//
// The interceptors of ServerOptions register every RPC with App.Hold
// (kind "rpc", name the full method, peer the client's address), health
// RPCs excepted: Stopping waits for them, /phase and App.Stats count them
// in flight, and the cut-off names them and counts them as cut. An RPC
// that reaches a handler once Stopping has begun (sent before the client
// read the GOAWAY) is served unheld: GracefulStop waits for it, and streams
// started after the GOAWAY are refused by the transport with
// REFUSED_STREAM, which clients retry transparently.
//
// # Timeline
//
// For a shutdown that starts at T0 (SIGTERM, /drain, Shutdown):
//
//	Starting    the standard health service (grpc.health.v1.Health, which
//	            Serve registers) answers NOT_SERVING for "" and every
//	            registered service.
//	Serving     SERVING for all of them.
//	T0          Draining: every status turns NOT_SERVING and is pushed to
//	            Watch streams (health.Server.Shutdown). Clients that balance
//	            with health checks (grpc round_robin with healthCheckConfig,
//	            xDS, Envoy, Linkerd) stop picking this replica. The server
//	            still accepts connections and RPCs: the Kubernetes Service
//	            may still send them while endpoints propagate.
//	T0+delay    Stopping: GracefulStop. Listeners close; every connection
//	            gets an HTTP/2 GOAWAY (a first one with the maximum stream ID
//	            and a ping, a second with the last stream accepted once the
//	            ping returns, or after 5s), so clients open their next RPCs
//	            on a new connection, which the Service routes to a ready
//	            replica. Unary RPCs in flight run to completion. Streaming
//	            RPCs (and health Watch streams) have their context cancelled
//	            with cause stream.ErrGoingAway; a handler that returns
//	            because of it ends the RPC with UNAVAILABLE, which clients may
//	            retry. Connections still in their HTTP/2 handshake are
//	            closed: gRPC would otherwise wait for them (up to 120s).
//	cut-off     Stopping's budget is spent (App.CutOff): the RPCs still
//	            running are logged by name ("lameduck: still running",
//	            kind=rpc) and Stop closes every connection; their clients see
//	            UNAVAILABLE. Closing waits for the hard stop to finish.
//
// # Keepalive and GOAWAY
//
// ServerOptions sets keepalive.ServerParameters{MaxConnectionAge:
// DefaultMaxConnectionAge} (gRPC adds ±10% jitter): every connection gets a
// GOAWAY after about 5 minutes, so clients of a kube-proxy Service spread
// over new replicas after a scale-up or a rollout instead of staying pinned
// to the old ones. MaxConnectionAgeGrace is left at infinity: a stream on
// an aged connection is not cut in normal operation; at shutdown Stopping
// ends it. The library sends no GOAWAY while Draining, on purpose: the
// Service may still route the reconnection to this replica, and gRPC has no
// API to send GOAWAY without also closing the listeners. It also sets
// ConnectionTimeout to DefaultConnectionTimeout (gRPC's default is 120s)
// so a client that never finishes its handshake is dropped sooner.
package grpclameduck
