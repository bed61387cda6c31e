package lameduck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Exit codes returned by App.Run.
const (
	// ExitOK: everything drained, flushed and closed within the budget.
	ExitOK = 0
	// ExitUnclean: the shutdown was not clean: the budget ran out with work
	// still running, a flush hook or closer failed, Fatal was called or a
	// component failed.
	ExitUnclean = 1
	// ExitConfig: invalid configuration or a start-up failure (port taken).
	ExitConfig = 2
	// A second stop signal makes Run return 128+signal number at once
	// (143 for SIGTERM, 130 for SIGINT), as a shell reports a signal death.
)

// Sentinel errors.
var (
	// ErrStopped is returned by Go once background work can no longer start.
	ErrStopped = errors.New("lameduck: stopped: no new background work accepted")
	// ErrDeadline is the cause of contexts cancelled when a phase's budget ran out.
	ErrDeadline = errors.New("lameduck: shutdown budget exhausted")
	// ErrShutdown is the cause given to Shutdown(nil).
	ErrShutdown = errors.New("lameduck: shutdown requested")
)

// App runs a service through the lameduck phases. Create it with New,
// register servers, work, checks and closers, then call Run once.
// All methods are safe for concurrent use.
type App struct {
	opts Options // as given to New
	cfg  Options // resolved at Run; read by the goroutines Run starts
	// resolved is cfg for everyone else (handlers that may run before or
	// while Run resolves the options).
	resolved atomic.Pointer[Options]
	log      logger

	ph    *phases
	track tracker

	mu       sync.Mutex
	servers  []*server
	adminMux *http.ServeMux
	admin    *server
	checks   []check
	workers  []*worker
	flushes  []hook
	closers  []hook
	started  bool

	tasks taskSet

	// shutdown requests: the first one wins.
	reqOnce   sync.Once
	requested chan struct{}
	req       request

	// reqCtx is the base of every request context: cancelled only when
	// Stopping runs out of budget. workCtx is given to workers: cancelled
	// when Stopping begins.
	reqCtx     context.Context
	reqCancel  context.CancelCauseFunc
	workCtx    context.Context
	workCancel context.CancelCauseFunc

	cut []string // what the stop budget cut off, for the termination message; guarded by mu

	stopClean       atomic.Bool  // Stopping ended with nothing cut off (read by /drain from Flushing on)
	drainsAnswering atomic.Int64 // /drain handlers that have not answered yet
	fatal           atomic.Bool
	listenersClosed atomic.Bool
	ran             atomic.Bool
	stats           shutdownStats
}

// source says what started the shutdown.
type source int

const (
	bySignal source = iota
	byDrain         // the /drain endpoint (a preStop hook)
	byCall          // Shutdown
	byFatal         // Fatal, a failed component or a panic in tracked work
)

type request struct {
	src   source
	cause error
	sig   os.Signal
	at    time.Time
}

type check struct {
	name string
	fn   func(context.Context) error
}

type hook struct {
	name string
	fn   func(context.Context) error
}

// New returns an App configured by o. Options are resolved (environment,
// defaults, validation) when Run starts, so New never fails.
func New(o Options) *App {
	a := &App{
		opts:      o,
		ph:        newPhases(time.Now()),
		requested: make(chan struct{}),
		adminMux:  http.NewServeMux(),
	}
	a.track.init()
	a.tasks.init()
	a.tasks.poke = a.track.poke
	a.reqCtx, a.reqCancel = context.WithCancelCause(context.Background())
	a.workCtx, a.workCancel = context.WithCancelCause(context.Background())
	a.log = logger{o.Logger}
	a.mountAdmin(a.adminMux)
	return a
}

// Serve registers srv; Run listens on srv.Addr (":http" if empty) and serves
// it. Its handler (http.DefaultServeMux if nil) is wrapped with Handler, and
// its BaseContext, ConnContext and ConnState hooks are chained with the
// App's own. Serve must be called before Run.
func (a *App) Serve(srv *http.Server) { a.addServer(srv, nil) }

// ServeListener is like Serve with a listener the caller opened (for tests
// on 127.0.0.1:0, socket activation or inherited sockets).
func (a *App) ServeListener(srv *http.Server, ln net.Listener) { a.addServer(srv, ln) }

// Admin starts an admin server on addr when Run starts (overridden by
// $LAMEDUCK_ADMIN_ADDR). It serves the handlers of AdminHandler:
// /livez, /readyz, /phase and /drain. Keep it off the service port: the
// kubelet probes and calls preStop httpGet hooks on the pod IP, and /drain
// starts the shutdown.
func (a *App) Admin(addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mustNotHaveStarted("Admin")
	a.admin = &server{name: "admin", srv: &http.Server{Addr: addr, Handler: a.adminMux, ReadHeaderTimeout: 10 * time.Second}}
}

// AdminListener is like Admin with a listener the caller opened.
func (a *App) AdminListener(ln net.Listener) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mustNotHaveStarted("AdminListener")
	a.admin = &server{name: "admin", ln: ln, srv: &http.Server{Handler: a.adminMux, ReadHeaderTimeout: 10 * time.Second}}
}

// AdminHandler returns the admin endpoints (see Admin) to mount on a mux
// of a server of the caller's that the service's clients cannot reach,
// for example an internal port:
//
//	mux.Handle("/admin/", http.StripPrefix("/admin", app.AdminHandler()))
//	go (&http.Server{Addr: "127.0.0.1:9090", Handler: mux}).ListenAndServe()
//
// Its /drain refuses to run on a server the App serves (see DrainHandler).
func (a *App) AdminHandler() http.Handler { return a.adminMux }

// HandleAdmin adds a handler to the admin endpoints, for example /metrics.
func (a *App) HandleAdmin(pattern string, h http.Handler) { a.adminMux.Handle(pattern, h) }

// Handler wraps h with the App's request tracking: it counts h's requests
// as in flight, adds "Connection: close" to responses while Draining, and
// refuses requests with 503 and Retry-After once Stopping began. Serve
// applies it itself; use it for servers the App does not run.
func (a *App) Handler(h http.Handler) http.Handler {
	if h == nil {
		h = http.DefaultServeMux
	}
	return &middleware{t: &a.track, next: h}
}

// Hold counts one unit of work that does not arrive as an HTTP request on
// an App server — a gRPC call, a message taken from a queue — as in flight,
// like a request: Stopping waits for release to be called, Stats and /phase
// count it, and if Stopping's budget runs out it is named in the log (kind,
// name, peer, age) and counted as cut off. Once Stopping has begun, Hold
// refuses new work with an error wrapping ErrStopped; answer it the way the
// protocol says "try another replica" (gRPC: codes.Unavailable). release
// may be called more than once.
func (a *App) Hold(kind, name, peer string) (release func(), err error) {
	t := &a.track
	if !t.enterGate() {
		return func() {}, fmt.Errorf("%w: %s %s refused", ErrStopped, kind, name)
	}
	return a.addHold(&hold{kind: kind, name: name, peer: peer, start: time.Now()}), nil
}

// Adopt keeps a connection taken over from a handler — hijacked, or
// upgraded to a WebSocket — tracked after the handler returns, as in the
// common pattern where the handler starts reader and writer goroutines and
// returns at once (gorilla/websocket's chat example). Without it the App
// forgets a hijacked connection when its handler returns: Stopping would
// not wait for it and would not name it. Call Adopt in the handler, before
// it returns, and release when the connection is done:
//
//	ws, err := upgrader.Upgrade(w, r, nil)
//	if err != nil { return }
//	release := app.Adopt(r, ws.NetConn())
//	go func() { defer release(); defer ws.Close(); readPump(ws) }()
//
// Stopping waits for release like it waits for a request (end the
// connection gracefully when <-app.Entered(lameduck.Stopping) fires: send
// a close frame). If Stopping's budget runs out it is logged as a
// "hijacked connection" with its request's method and path, counted as
// cut off, and c is closed. release may be called more than once.
func (a *App) Adopt(r *http.Request, c net.Conn) (release func()) {
	t := &a.track
	// Not refused once Stopping began: the handler calling Adopt is in
	// flight, so Stopping has not finished waiting.
	t.gate.Add(1)
	h := &hold{kind: "hijacked connection", name: r.Method + " " + r.URL.Path, peer: r.RemoteAddr, start: time.Now(), conn: c}
	return a.addHold(h)
}

// addHold registers h (already counted in the gate) and returns its release.
func (a *App) addHold(h *hold) (release func()) {
	t := &a.track
	t.mu.Lock()
	t.holds[h] = struct{}{}
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			delete(t.holds, h)
			t.mu.Unlock()
			t.leaveGate()
		})
	}
}

// Logger returns the logger the App writes its records to, so that
// components (grpclameduck) log where the App does.
func (a *App) Logger() *slog.Logger { return a.log.get() }

// ReadyCheck adds a readiness check: /readyz answers 200 only in Serving
// and while every check returns nil, and Run leaves Starting only once all
// checks pass.
func (a *App) ReadyCheck(name string, fn func(ctx context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks = append(a.checks, check{name, fn})
}

// Worker registers a long-running worker (a queue consumer, a ticker). It
// starts when Run starts; its context is cancelled when Stopping begins and
// Stopping waits for it to return. A worker that returns an error or panics
// starts the shutdown as Fatal does.
func (a *App) Worker(name string, fn func(ctx context.Context) error) {
	w := &worker{name: name, fn: fn}
	a.mu.Lock()
	a.workers = append(a.workers, w)
	started := a.started
	a.mu.Unlock()
	if started {
		a.startWorker(w)
	}
}

// Flush registers a hook run in Flushing, concurrently with the other flush
// hooks, with a context that ends with the Flushing budget: push the last
// metrics, flush a trace exporter, sync a log file.
func (a *App) Flush(name string, fn func(ctx context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.flushes = append(a.flushes, hook{name, fn})
}

// Close registers a closer run in Closing, after every server and all
// tracked work have drained. Closers run one at a time in reverse order of
// registration (register the Redis client before the server that uses it);
// each is waited for until the Closing budget ends. Errors are logged and
// make the exit code ExitUnclean.
func (a *App) Close(name string, fn func() error) {
	a.CloseContext(name, func(context.Context) error { return fn() })
}

// CloseContext is Close for closers that take a context; it ends with the
// Closing budget.
func (a *App) CloseContext(name string, fn func(ctx context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closers = append(a.closers, hook{name, fn})
}

// Shutdown starts the shutdown sequence as a stop signal would, with cause
// (ErrShutdown if nil). It returns at once; Run returns when the sequence
// ends. Later calls, signals and drain requests do not restart it.
func (a *App) Shutdown(cause error) {
	if cause == nil {
		cause = ErrShutdown
	}
	a.request(request{src: byCall, cause: cause})
}

// Fatal starts the shutdown sequence with err as its cause and makes Run
// return ExitUnclean. Unlike log.Fatal or os.Exit it returns, so deferred
// cleanup runs and every phase is gone through.
func (a *App) Fatal(err error) {
	if err == nil {
		err = errors.New("lameduck: Fatal(nil)")
	}
	a.fatal.Store(true)
	a.request(request{src: byFatal, cause: err})
}

// request records the first shutdown request; later ones are ignored.
func (a *App) request(r request) {
	a.reqOnce.Do(func() {
		r.at = time.Now()
		a.req = r
		close(a.requested)
	})
}

// Phase returns the current phase.
func (a *App) Phase() Phase { return a.ph.current() }

// Entered returns a channel closed once phase p (or a later one) has been
// entered, for example to end a WebSocket when Draining begins:
//
//	<-app.Entered(lameduck.Draining)
func (a *App) Entered(p Phase) <-chan struct{} {
	if p < 0 || int(p) >= numPhases {
		panic(fmt.Sprintf("lameduck: Entered(%v): no such phase", p))
	}
	return a.ph.entered[p]
}

// CutOff returns a channel closed when Stopping's budget is spent and the
// App cancels request and task contexts (and at the very end of Run).
// Components with their own graceful stop (gRPC's GracefulStop) race it
// and fall back to a hard stop.
func (a *App) CutOff() <-chan struct{} { return a.reqCtx.Done() }

// EnteredAt returns when phase p was entered, or the zero time.
func (a *App) EnteredAt(p Phase) time.Time { return a.ph.enteredAt(p) }

// Stats is a snapshot of what an App is doing.
type Stats struct {
	Phase Phase
	// InFlight is the number of requests inside the App's handlers.
	InFlight int64
	// Tasks is the number of tracked background tasks running (see Go);
	// TasksDone the number that have returned.
	Tasks, TasksDone int64
	// Drained counts requests that finished after Stopping began (they
	// were in flight when the listeners closed).
	Drained int64
	// ServedDraining counts requests that arrived while Draining.
	ServedDraining int64
	// Refused counts requests refused with 503 (and Hold calls refused)
	// after Stopping began.
	Refused int64
	// CutRequests and CutTasks count what was still running when the
	// Stopping budget ran out.
	CutRequests, CutTasks int64
}

// Stats returns a snapshot of the App's counters.
func (a *App) Stats() Stats {
	tasks, done := a.tasks.count()
	return Stats{
		Phase:          a.Phase(),
		InFlight:       a.track.inFlight(),
		Tasks:          tasks,
		TasksDone:      done,
		Drained:        a.track.drained.Load(),
		ServedDraining: a.track.servedDraining.Load(),
		Refused:        a.track.refused.Load(),
		CutRequests:    a.stats.cutRequests.Load(),
		CutTasks:       a.stats.cutTasks.Load(),
	}
}

type shutdownStats struct {
	cutRequests, cutTasks atomic.Int64
}

func (a *App) mustNotHaveStarted(what string) {
	if a.started {
		panic("lameduck: " + what + " called after Run")
	}
}
