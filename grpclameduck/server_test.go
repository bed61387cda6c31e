package grpclameduck_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/grpclameduck"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is an App serving a grpc.Server in this process.
type running struct {
	app  *lameduck.App
	g    *grpclameduck.Server
	addr string
	code chan int
	log  *syncBuffer
}

// budget: grace 3s − kill margin 0.5s = 2.5s; flush and close 0.2s each.
func testOptions(drain time.Duration, log *syncBuffer) lameduck.Options {
	return lameduck.Options{
		LookupEnv: lameduck.NoEnv, GracePeriod: 3 * time.Second, KillMargin: 500 * time.Millisecond,
		DrainDelay: drain, FlushTimeout: 200 * time.Millisecond, CloseTimeout: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(log, nil)),
	}
}

// start runs an App with a gRPC server; withOptions builds the server with
// ServerOptions, otherwise it is a plain grpc.NewServer() handed to Serve.
func start(t *testing.T, drain time.Duration, withOptions bool) *running {
	t.Helper()
	r := &running{code: make(chan int, 1), log: &syncBuffer{}}
	r.app = lameduck.New(testOptions(drain, r.log))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	if withOptions {
		r.g = grpclameduck.New(r.app, grpclameduck.Options{Logger: slog.New(slog.NewTextHandler(r.log, nil))})
		srv := grpc.NewServer(r.g.ServerOptions()...)
		testpb.RegisterTestServiceServer(srv, testService{})
		r.g.Serve(srv, ln)
	} else {
		srv := grpc.NewServer()
		testpb.RegisterTestServiceServer(srv, testService{})
		r.g = grpclameduck.Serve(r.app, srv, ln)
	}
	go func() { r.code <- r.app.Run() }()
	t.Cleanup(func() {
		r.app.Shutdown(errors.New("test cleanup"))
		select {
		case <-r.code:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
		if t.Failed() {
			t.Logf("log:\n%s", r.log.String())
		}
	})
	select {
	case <-r.app.Entered(lameduck.Serving):
	case <-time.After(10 * time.Second):
		t.Fatal("not serving")
	}
	return r
}

// wait waits for Run's exit code.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case c := <-r.code:
		r.code <- c
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return 0
	}
}

func dialGRPC(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

type watchUpdate struct {
	status healthpb.HealthCheckResponse_ServingStatus
	phase  lameduck.Phase // the App's phase when it arrived
	err    error          // set on the last update: how the stream ended
}

// watch follows the health of service "" until the stream ends.
func watch(t *testing.T, app *lameduck.App, cc *grpc.ClientConn) <-chan watchUpdate {
	t.Helper()
	ws, err := healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan watchUpdate, 16)
	go func() {
		defer close(ch)
		for {
			m, err := ws.Recv()
			if err != nil {
				ch <- watchUpdate{phase: app.Phase(), err: err}
				return
			}
			ch <- watchUpdate{status: m.GetStatus(), phase: app.Phase()}
		}
	}()
	return ch
}

func next[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: nothing after 10s", what)
		panic("unreachable")
	}
}

// TestHealthFollowsPhases: SERVING while Serving, NOT_SERVING pushed to a
// Watch stream as soon as Draining begins, the Watch stream ended with
// UNAVAILABLE when Stopping begins, and a clean exit.
func TestHealthFollowsPhases(t *testing.T) {
	for _, withOptions := range []bool{true, false} {
		name := "Serve"
		if withOptions {
			name = "ServerOptions"
		}
		t.Run(name, func(t *testing.T) {
			r := start(t, 500*time.Millisecond, withOptions)
			cc := dialGRPC(t, r.addr)
			hc := healthpb.NewHealthClient(cc)
			for _, svc := range []string{"", "grpc.testing.TestService"} {
				// The health service follows Entered(Serving) from its own
				// goroutine: poll briefly rather than race it.
				deadline := time.Now().Add(5 * time.Second)
				for {
					res, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
					if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("Check(%q) while Serving = %v, %v", svc, res.GetStatus(), err)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			updates := watch(t, r.app, cc)
			if u := next(t, "first update", updates); u.status != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("first update %v", u.status)
			}
			r.app.Shutdown(errors.New("test"))
			u := next(t, "update after shutdown", updates)
			if u.status != healthpb.HealthCheckResponse_NOT_SERVING || u.phase != lameduck.Draining {
				t.Fatalf("after Shutdown: %v in %v, want NOT_SERVING while Draining", u.status, u.phase)
			}
			// Still served while Draining: a new RPC works and says NOT_SERVING.
			res, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "grpc.testing.TestService"})
			if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Fatalf("Check while Draining = %v, %v", res.GetStatus(), err)
			}
			u = next(t, "end of the watch", updates)
			if u.err == nil || code(u.err) != codes.Unavailable || u.phase < lameduck.Stopping {
				t.Fatalf("watch ended with %v in %v, want UNAVAILABLE from Stopping on", u.err, u.phase)
			}
			if c := r.wait(t); c != 0 {
				t.Fatalf("Run = %d, want 0", c)
			}
		})
	}
}

// TestUnaryInFlightCompletes: a unary call running when the shutdown
// starts completes during Stopping; afterwards the server refuses
// connections.
func TestUnaryInFlightCompletes(t *testing.T) {
	r := start(t, 200*time.Millisecond, true)
	cc := dialGRPC(t, r.addr)
	tc := testpb.NewTestServiceClient(cc)
	type result struct {
		err   error
		phase lameduck.Phase
	}
	done := make(chan result, 1)
	go func() {
		_, err := tc.UnaryCall(context.Background(), &testpb.SimpleRequest{ResponseSize: 800})
		done <- result{err, r.app.Phase()}
	}()
	waitInFlight(t, r.app, 1)
	// The interceptor holds the RPC with the App: its Stats count it.
	if n := r.app.Stats().InFlight; n != 1 {
		t.Fatalf("app.Stats().InFlight = %d with one RPC in flight, want 1", n)
	}
	r.app.Shutdown(errors.New("test"))
	res := next(t, "unary call", done)
	if res.err != nil {
		t.Fatalf("unary call in flight failed: %v", res.err)
	}
	if res.phase < lameduck.Stopping {
		t.Errorf("unary call returned in %v, want Stopping or later (GracefulStop waited for it)", res.phase)
	}
	if c := r.wait(t); c != 0 {
		t.Fatalf("Run = %d, want 0", c)
	}
	cc2 := dialGRPC(t, r.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := testpb.NewTestServiceClient(cc2).EmptyCall(ctx, &testpb.Empty{}); code(err) != codes.Unavailable {
		t.Fatalf("call after the exit: %v, want UNAVAILABLE", err)
	}
}

func waitInFlight(t *testing.T, app *lameduck.App, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for app.Stats().InFlight < int64(n) {
		select {
		case <-deadline:
			t.Fatalf("%d RPCs in flight, want %d", app.Stats().InFlight, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// serverStream opens a streaming call and reads it until it ends.
func serverStream(t *testing.T, app *lameduck.App, cc *grpc.ClientConn, body string) <-chan watchUpdate {
	t.Helper()
	st, err := testpb.NewTestServiceClient(cc).StreamingOutputCall(context.Background(),
		&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(body)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan watchUpdate, 1)
	go func() {
		for {
			if _, err := st.Recv(); err != nil {
				ch <- watchUpdate{err: err, phase: app.Phase()}
				return
			}
		}
	}()
	return ch
}

// TestStreamEndsWhenStopping: a server-streaming call whose handler
// follows its context ends with UNAVAILABLE as Stopping begins, and the
// App exits cleanly.
func TestStreamEndsWhenStopping(t *testing.T) {
	r := start(t, 200*time.Millisecond, true)
	cc := dialGRPC(t, r.addr)
	s := serverStream(t, r.app, cc, "")
	r.app.Shutdown(errors.New("test"))
	u := next(t, "stream end", s)
	if code(u.err) != codes.Unavailable || u.phase < lameduck.Stopping {
		t.Fatalf("stream ended with %v in %v, want UNAVAILABLE from Stopping on", u.err, u.phase)
	}
	if c := r.wait(t); c != 0 {
		t.Fatalf("Run = %d, want 0", c)
	}
}

// TestStreamCutAtDeadline: a streaming handler that ignores its context is
// cut by Stop when Stopping's budget is spent; the RPC is named in the log
// and the exit is unclean.
func TestStreamCutAtDeadline(t *testing.T) {
	r := start(t, 200*time.Millisecond, true)
	cc := dialGRPC(t, r.addr)
	s := serverStream(t, r.app, cc, "ignore")
	r.app.Shutdown(errors.New("test"))
	u := next(t, "stream end", s)
	if code(u.err) != codes.Unavailable {
		t.Fatalf("stream ended with %v, want UNAVAILABLE", u.err)
	}
	if c := r.wait(t); c != 1 {
		t.Fatalf("Run = %d, want 1", c)
	}
	if st := r.app.Stats(); st.CutRequests != 1 {
		t.Errorf("Stats().CutRequests = %d, want 1 (the held stream)", st.CutRequests)
	}
	log := r.log.String()
	for _, want := range []string{
		`msg="lameduck: still running" kind=rpc name=/grpc.testing.TestService/StreamingOutputCall`,
		`msg="lameduck: still running" kind=worker name="grpc ` + r.addr,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

// TestSilentConnectionDoesNotHoldStop: a client that connects and never
// sends the HTTP/2 preface would keep grpc's GracefulStop (and Stop)
// waiting for up to ConnectionTimeout, 120s by default; the plain server
// here has that default.
func TestSilentConnectionDoesNotHoldStop(t *testing.T) {
	r := start(t, 100*time.Millisecond, false)
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // let the server accept it: the race is harmless, the check is the exit code
	r.app.Shutdown(errors.New("test"))
	if c := r.wait(t); c != 0 {
		t.Fatalf("Run = %d, want 0: the silent connection held the stop", c)
	}
}

// TestListenerFailureIsFatal: a gRPC server whose listener fails stops the
// whole App, through the usual phases, with exit code 1.
func TestListenerFailureIsFatal(t *testing.T) {
	log := &syncBuffer{}
	app := lameduck.New(testOptions(0, log))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	grpclameduck.Serve(app, srv, ln)
	ln.Close() // Accept fails at once
	code := make(chan int, 1)
	go func() { code <- app.Run() }()
	select {
	case c := <-code:
		if c != 1 {
			t.Fatalf("Run = %d, want 1", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if !strings.Contains(log.String(), "grpclameduck: grpc "+ln.Addr().String()) {
		t.Errorf("the cause does not name the server:\n%s", log.String())
	}
}
