package lameduck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// server is an http.Server run by the App.
type server struct {
	name string
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returned
	// h2 owns the HTTP/2 server state of srv (see takeHTTP2): its Shutdown
	// sends a graceful GOAWAY to every HTTP/2 connection of srv.
	h2 *http.Server
	tl *trackingListener // nil for the admin server
}

// readyPoll is how often Run re-runs the ready checks while Starting.
const readyPoll = 100 * time.Millisecond

// cutGrace is how long Stopping waits, once its budget is spent and handler
// contexts are cancelled, for handlers to return before connections are
// force-closed.
const cutGrace = 100 * time.Millisecond

func (a *App) addServer(srv *http.Server, ln net.Listener) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mustNotHaveStarted("Serve")
	srv.Handler = a.Handler(srv.Handler)
	// The server's timeouts are left as the caller set them. The shutdown
	// does not depend on them: a connection that never completes a request
	// does not hold Stopping, and the stop budget's cut-off force-closes
	// slow readers and writers. (ReadHeaderTimeout costs about 1.8µs of CPU
	// per request on a 2-core VM, 10% of a hello-world request: see
	// BENCHMARKS.md.)
	userBase := srv.BaseContext
	srv.BaseContext = func(l net.Listener) context.Context {
		if userBase == nil {
			return a.reqCtx
		}
		ctx, cancel := context.WithCancelCause(userBase(l))
		context.AfterFunc(a.reqCtx, func() { cancel(context.Cause(a.reqCtx)) })
		return ctx
	}
	userConnCtx := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if userConnCtx != nil {
			ctx = userConnCtx(ctx, c)
		}
		return connContext(ctx, c)
	}
	userState := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		a.track.connState(c, s)
		if userState != nil {
			userState(c, s)
		}
	}
	a.servers = append(a.servers, &server{srv: srv, ln: ln})
}

// Run starts everything registered, serves until a stop signal, a drain
// request, Shutdown or Fatal, then goes through the shutdown phases and
// returns the exit code for os.Exit:
//
//	os.Exit(app.Run())
//
// The timeline of a shutdown started by SIGTERM at T0, with the default
// budget (grace period 30s, kill margin 2s, drain delay 5s in Kubernetes):
//
//	T0        Draining: /readyz answers 503; servers keep serving; every
//	          response carries "Connection: close".
//	T0+5s     Stopping: listeners and idle connections close; a request that
//	          still arrives on an open connection gets 503 + Retry-After;
//	          workers' contexts are cancelled; in-flight requests, tracked
//	          tasks and workers run to completion.
//	≤T0+23s   Stopping's budget is spent (30s − 2s − flush 2s − close 3s):
//	          request and task contexts are cancelled, what still runs is
//	          logged by name and age, connections are force-closed.
//	          Flushing: flush hooks run, for at most 2s.
//	≤T0+25s   Closing: closers run in reverse order, for at most 3s.
//	≤T0+28s   Stopped: Run returns; SIGKILL would have come at T0+30s.
//
// A second stop signal makes Run return 128+signal at once, logging what
// was cut off; the caller must exit then. The first stop signal to arrive
// after a shutdown started otherwise (Shutdown, Fatal, a failed component,
// /drain: the kubelet's SIGTERM after a preStop hook) is not a second
// signal, and neither is the same signal delivered twice within
// SignalDebounce (to the process and to its process group).
// Run restores signal handling before it returns, except after a shutdown
// started by /drain, where it leaves the stop signals ignored so that the
// kubelet's SIGTERM cannot kill the exiting process. It must be called once.
func (a *App) Run() int {
	if !a.ran.CompareAndSwap(false, true) {
		panic("lameduck: Run called twice")
	}
	cfg, err := OptionsFromEnv(a.opts, a.opts.LookupEnv)
	if err != nil {
		a.log.log(slog.LevelError, "lameduck: cannot start", "err", err)
		a.ph.advance(Stopped, time.Now())
		return ExitConfig
	}
	a.cfg = cfg
	a.resolved.Store(&cfg)
	b := cfg.Budget()
	for _, w := range b.Warnings {
		a.log.log(slog.LevelWarn, "lameduck: budget", "warning", w)
	}
	a.log.log(slog.LevelInfo, "lameduck: starting", "grace_period", cfg.GracePeriod, "budget", b.Total,
		"drain_delay", b.DrainDelay, "stop", b.Stop, "flush", b.Flush, "close", b.Close)

	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, cfg.Signals...)
	defer func() {
		signal.Stop(sigc)
		if a.req.src == byDrain && a.Phase() == Stopped {
			// The kubelet sends SIGTERM when the preStop hook that called
			// /drain returns, possibly after Run has returned and before the
			// caller exits: it must not turn a clean exit into 143.
			signal.Ignore(cfg.Signals...)
		}
	}()

	startErr := a.start()
	if startErr != nil {
		a.log.log(slog.LevelError, "lameduck: cannot start", "err", startErr)
		a.request(request{src: byFatal, cause: startErr})
	} else {
		go a.becomeReady()
	}

	// first is the stop signal that counts as the first one: the one that
	// started the shutdown, or the first to arrive after a shutdown started
	// otherwise (Shutdown, Fatal, /drain). Only a later one, and not the
	// same signal delivered twice at once, cuts the shutdown short.
	var first os.Signal
	var firstAt time.Time
	select {
	case s := <-sigc:
		first, firstAt = s, time.Now()
		a.request(request{src: bySignal, sig: s, cause: fmt.Errorf("lameduck: %v received", s)})
	case <-a.requested:
	}
	done := make(chan int, 1)
	go func() { done <- a.shutdown(startErr) }()
	for {
		select {
		case code := <-done:
			return code
		case s := <-sigc:
			now := time.Now()
			switch {
			case first == nil:
				first, firstAt = s, now
				a.log.log(slog.LevelInfo, "lameduck: stop signal during a shutdown already under way; continuing",
					"signal", s.String(), "trigger", a.req.src.String(), "phase", a.Phase().String())
			case s == first && now.Sub(firstAt) < SignalDebounce:
				a.log.log(slog.LevelInfo, "lameduck: same stop signal delivered again at once (to the process and its group?); ignored",
					"signal", s.String(), "after", now.Sub(firstAt))
			default:
				return a.forceExit(s)
			}
		}
	}
}

// SignalDebounce is the window in which a repeat of the first stop signal
// counts as the same delivery, not as a second signal. Supervisors such as
// timeout(1) signal both the process and its process group, so the process
// receives the same signal twice within microseconds (systemd's
// control-group kill does the same); a person pressing Ctrl-C twice to
// force an exit takes longer than this.
const SignalDebounce = 250 * time.Millisecond

func (s source) String() string {
	return [...]string{bySignal: "signal", byDrain: "drain", byCall: "call", byFatal: "fatal"}[s]
}

// forceExit handles a second stop signal.
func (a *App) forceExit(s os.Signal) int {
	now := time.Now()
	cut := append(a.track.runningRequests(now), a.tasks.running(now)...)
	names := make([]string, 0, len(cut))
	for _, r := range cut {
		names = append(names, fmt.Sprintf("%s %s (%v)", r.Kind, r.Name, r.Age.Round(time.Millisecond)))
	}
	code := 128 + 15
	if sn, ok := s.(syscall.Signal); ok {
		code = 128 + int(sn)
	}
	a.log.log(slog.LevelError, "lameduck: second signal, exiting at once", "signal", s.String(),
		"phase", a.Phase().String(), "cut_off", names, "code", code)
	return code
}

// start opens the admin server, the listeners and the workers.
func (a *App) start() error {
	a.mu.Lock()
	a.started = true
	servers := append([]*server(nil), a.servers...)
	admin := a.admin
	workers := append([]*worker(nil), a.workers...)
	a.mu.Unlock()
	if admin != nil {
		if a.cfg.AdminAddr != "" && admin.ln == nil {
			admin.srv.Addr = a.cfg.AdminAddr
		}
		servers = append([]*server{admin}, servers...)
	}
	for i, s := range servers {
		if s.ln == nil {
			addr := s.srv.Addr
			if addr == "" {
				addr = ":http"
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				for _, o := range servers[:i] {
					o.ln.Close()
					o.ln = nil
				}
				name := s.name
				if name == "" {
					name = "http"
				}
				return fmt.Errorf("lameduck: listen for %s server: %w", name, err)
			}
			s.ln = ln
		}
		if s.name == "" {
			s.name = "http " + s.ln.Addr().String()
		}
	}
	for _, s := range servers {
		s.done = make(chan struct{})
		ln := s.ln
		if s != admin {
			s.tl = &trackingListener{Listener: s.ln, t: &a.track}
			ln = s.tl
			s.takeHTTP2()
		}
		go func() {
			defer close(s.done)
			var err error
			if s.srv.TLSConfig != nil {
				// TLS on top of the tracking listener, so that net/http
				// sees *tls.Conn (r.TLS, HTTP/2 by ALPN) and the App still
				// sees every connection.
				err = s.srv.ServeTLS(ln, "", "")
			} else {
				err = s.srv.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !a.listenersClosed.Load() {
				a.Fatal(fmt.Errorf("lameduck: %s server failed: %w", s.name, err))
			}
		}()
		a.log.log(slog.LevelInfo, "lameduck: listening", "server", s.name, "addr", s.ln.Addr().String())
	}
	for _, w := range workers {
		a.startWorker(w)
	}
	return nil
}

// takeHTTP2 sets up srv's HTTP/2 support (TLS "h2" and h2c) from a
// second, never-listening http.Server, s.h2, so that the App can send
// every HTTP/2 connection a graceful GOAWAY (s.goAway) without calling
// srv.Shutdown, which would also drop HTTP/1 requests read after it
// began without an answer. net/http registers the graceful shutdown of
// its HTTP/2 connections with the server whose HTTP/2 support it sets up,
// and runs it only from that server's Shutdown; the HTTP/2 handler it
// installs serves connections of any server it is given. Nothing is done
// when the caller configured TLSNextProto (x/net/http2, or HTTP/2 turned
// off) or HTTP/2 is off in srv.Protocols.
func (s *server) takeHTTP2() {
	srv := s.srv
	if srv.TLSNextProto != nil || (srv.Protocols != nil && !srv.Protocols.HTTP2() && !srv.Protocols.UnencryptedHTTP2()) {
		return
	}
	owner := &http.Server{Protocols: srv.Protocols, HTTP2: srv.HTTP2, IdleTimeout: srv.IdleTimeout,
		ReadTimeout: srv.ReadTimeout, WriteTimeout: srv.WriteTimeout, MaxHeaderBytes: srv.MaxHeaderBytes, ErrorLog: srv.ErrorLog}
	_ = owner.Serve(noListener{}) // sets up owner.TLSNextProto, then returns
	if _, ok := owner.TLSNextProto["h2"]; !ok {
		return // GODEBUG=http2server=0
	}
	srv.TLSNextProto = owner.TLSNextProto
	s.h2 = owner
}

// goAway sends a graceful GOAWAY (NO_ERROR) to every HTTP/2 connection of
// the server: clients finish the streams they have open and send new ones
// on a new connection, to another replica once load balancers caught up.
// Connections opened later get it with their first response while Draining
// ("Connection: close" means GOAWAY to net/http's HTTP/2 server).
func (s *server) goAway() {
	if s.h2 != nil {
		_ = s.h2.Shutdown(context.Background()) // no listener, no connection: returns at once
	}
}

// noListener is a listener that is closed from the start.
type noListener struct{}

func (noListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (noListener) Close() error              { return nil }
func (noListener) Addr() net.Addr            { return &net.TCPAddr{} }

// becomeReady moves Starting to Serving once every ready check passes.
func (a *App) becomeReady() {
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	for {
		if a.checksPass(context.Background()) == nil {
			a.mu.Lock()
			if !a.shuttingDown() {
				a.enter(Serving)
			}
			a.mu.Unlock()
			return
		}
		select {
		case <-a.requested:
			return
		case <-t.C:
		}
	}
}

func (a *App) shuttingDown() bool {
	select {
	case <-a.requested:
		return true
	default:
		return false
	}
}

// enter advances to phase p and logs the change.
func (a *App) enter(p Phase, attrs ...any) {
	if prev, took, ok := a.ph.advance(p, time.Now()); ok {
		a.log.phase(p, prev, took, attrs...)
	}
}

// shutdown is the owner of the shutdown sequence; it returns the exit code.
func (a *App) shutdown(startErr error) int {
	r := a.req
	b := budgetFor(a.cfg, r)
	deadline := r.at.Add(b.Total)

	a.mu.Lock()
	neverServed := a.Phase() == Starting
	a.track.draining.Store(true) // from here on readiness fails and responses close connections
	a.enter(Draining, "cause", r.cause.Error(), "budget", b.Total)
	servers := append([]*server(nil), a.servers...)
	a.mu.Unlock()
	drainStart := time.Now()
	for _, s := range servers {
		s.goAway()
	}
	unclean := startErr != nil || a.fatal.Load()

	// The real grace period, if asked for: read while Draining already
	// runs (readiness has failed), within the drain delay.
	if g, ok := a.apiGracePeriod(); ok {
		cfg := a.cfg
		cfg.GracePeriod = g
		b = budgetFor(cfg, r)
		if rest := b.Total - b.Flush - b.Close; b.DrainDelay > rest {
			b.DrainDelay = max(rest/2, 0) // a shortened grace period: keep time to stop
		}
		deadline = r.at.Add(b.Total)
		a.log.log(slog.LevelInfo, "lameduck: budget from the API server's grace period", "grace_period", g, "budget", b.Total,
			"drain_delay", b.DrainDelay, "stop", b.Stop, "flush", b.Flush, "close", b.Close)
	}

	if d := drainFor(r, b) - time.Since(drainStart); !neverServed && d > 0 {
		a.drainDelay(d)
	}

	// Stopping.
	stopEnd := deadline.Add(-b.Flush - b.Close)
	if a.cfg.StopTimeout > 0 {
		stopEnd = minTime(stopEnd, time.Now().Add(a.cfg.StopTimeout))
	}
	a.track.closeGate() // before Stopping is published: whoever sees Stopping sees the gate closed
	a.enter(Stopping)
	a.workCancel(fmt.Errorf("lameduck: stopping: %w", r.cause))
	a.mu.Lock()
	workers := append([]*worker(nil), a.workers...)
	a.mu.Unlock()
	for _, s := range servers {
		s.goAway() // HTTP/2 connections opened while Draining
	}

	// Stop accepting, then close idle keep-alive connections. Connections
	// with a request in flight stay open; their responses carry
	// "Connection: close". http.Server.Shutdown is not used here: it drops
	// a request read after it began without any response, where the gate
	// answers 503 + Retry-After; it also polls for idleness every 500ms.
	a.listenersClosed.Store(true)
	for _, s := range servers {
		if s.tl != nil {
			s.tl.stopAccepting()
		} else if s.done != nil {
			_ = s.ln.Close()
		}
	}
	a.track.closeIdle()
	if !a.waitDrained(stopEnd, workers) {
		unclean = true
		a.cutOff(workers)
	}
	for _, s := range servers {
		_ = s.srv.Close()
	}
	a.track.closeHijacked()
	for _, s := range servers {
		if s.done != nil {
			<-s.done
		}
	}

	// Flushing. /drain answers from here, with stopClean.
	a.stopClean.Store(!unclean)
	a.enter(Flushing)
	if !a.runFlushes(minTime(time.Now().Add(b.Flush), deadline.Add(-b.Close))) {
		unclean = true
	}

	// Closing.
	a.enter(Closing)
	if !a.runClosers(minTime(time.Now().Add(b.Close), deadline)) {
		unclean = true
	}
	// A /drain answered on a server of the caller's (AdminHandler) must
	// reach the preStop hook before the caller's os.Exit.
	for end := time.Now().Add(time.Second); a.drainsAnswering.Load() > 0 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	if a.admin != nil && a.admin.done != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = a.admin.srv.Shutdown(ctx) // lets a /drain response finish
		cancel()
		_ = a.admin.srv.Close()
		<-a.admin.done
	}

	code := ExitOK
	switch {
	case startErr != nil:
		code = ExitConfig
	case unclean || a.fatal.Load():
		code = ExitUnclean
	}
	a.reqCancel(context.Canceled)
	a.tasks.cancel(context.Canceled)
	a.enter(Stopped, "code", code)
	a.summary(r, b, code)
	a.writeTerminationMessage(r, b, code)
	return code
}

// drainDelay waits out the lame-duck period, ending early when the drain
// is adaptive (DrainQuiet > 0) and no request has arrived for DrainQuiet,
// though never before DrainMin.
func (a *App) drainDelay(max time.Duration) {
	start := time.Now()
	end := start.Add(max)
	a.track.lastArrival.Store(start.UnixNano())
	for {
		wake := end
		if q := a.cfg.DrainQuiet; q > 0 {
			quietAt := time.Unix(0, a.track.lastArrival.Load()).Add(q)
			wake = minTime(end, maxTime(quietAt, start.Add(a.cfg.DrainMin)))
		}
		d := time.Until(wake)
		if d <= 0 {
			if wake.Before(end) {
				a.log.log(slog.LevelInfo, "lameduck: drain ended early", "quiet", a.cfg.DrainQuiet,
					"after", time.Since(start).Round(time.Millisecond))
			}
			return
		}
		time.Sleep(d) // lastArrival only moves forward: recompute and sleep again if it did
	}
}

// ConnGrace is how long Stopping waits, once no request, task or worker
// is left, for connections that are still finishing:
//   - a request whose first bytes had arrived when Stopping began (its
//     headers half received): it gets an answer (503 + Retry-After)
//     instead of the connection being closed under it;
//   - HTTP/2 connections, which were sent GOAWAY and close themselves
//     about a second after their last stream (net/http's HTTP/2 server
//     may still hold the end of the last response in its write buffer
//     when it reports the connection idle).
//
// Connections still open after ConnGrace are closed; they do not make the
// shutdown unclean.
const ConnGrace = 2 * time.Second

// waitDrained waits until no request is in flight, no response is being
// written and every task and worker has returned, then (for at most
// ConnGrace) for half-received requests and HTTP/2 connections; or until
// end.
func (a *App) waitDrained(end time.Time, workers []*worker) bool {
	timer := time.NewTimer(time.Until(end))
	defer timer.Stop()
	var graceC <-chan time.Time
	graceOver := false
	for {
		if a.track.idle() && workersDone(workers) && a.tasks.closeIfEmpty() {
			if graceOver || (a.track.pendingConns() == 0 && a.track.h2Conns() == 0) {
				return true
			}
			if graceC == nil {
				g := time.NewTimer(ConnGrace)
				defer g.Stop()
				graceC = g.C
			}
		}
		select {
		case <-a.track.kick:
		case <-graceC:
			graceOver = true
		case <-timer.C:
			// Connections still finishing do not make it unclean.
			return a.track.idle() && workersDone(workers) && a.tasks.closeIfEmpty()
		}
	}
}

func workersDone(ws []*worker) bool {
	for _, w := range ws {
		if w.done != nil {
			select {
			case <-w.done:
			default:
				return false
			}
		}
	}
	return true
}

// cutOff ends what is still running when Stopping's budget is spent.
func (a *App) cutOff(workers []*worker) {
	now := time.Now()
	reqs := a.track.runningRequests(now)
	tasks := a.tasks.running(now)
	for _, w := range workers {
		if !workersDone([]*worker{w}) {
			tasks = append(tasks, running{Kind: "worker", Name: w.name, Age: now.Sub(a.ph.enteredAt(Starting))})
		}
	}
	a.log.log(slog.LevelError, "lameduck: stop budget spent", "requests", len(reqs), "tasks", len(tasks))
	for _, r := range append(reqs, tasks...) {
		a.log.stillRunning(r, Stopping)
	}
	a.mu.Lock()
	for _, r := range append(reqs, tasks...) {
		a.cut = append(a.cut, fmt.Sprintf("%s %s (%v)", r.Kind, r.Name, r.Age.Round(time.Millisecond)))
	}
	a.mu.Unlock()
	a.stats.cutRequests.Add(int64(len(reqs)))
	a.stats.cutTasks.Add(int64(len(tasks)))
	a.reqCancel(ErrDeadline)
	a.tasks.cancel(ErrDeadline)
	a.tasks.closeNow()
	// Give cancelled handlers a moment to return before their connections close.
	t := time.NewTimer(cutGrace)
	defer t.Stop()
	for !a.track.idle() {
		select {
		case <-a.track.kick:
		case <-t.C:
			return
		}
	}
}

// runFlushes runs the flush hooks concurrently until end.
func (a *App) runFlushes(end time.Time) bool {
	a.mu.Lock()
	hooks := append([]hook(nil), a.flushes...)
	a.mu.Unlock()
	if len(hooks) == 0 {
		return true
	}
	ctx, cancel := context.WithDeadlineCause(context.Background(), end, ErrDeadline)
	defer cancel()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(hooks))
	pending := make([]bool, len(hooks)) // owned by this goroutine
	for i, h := range hooks {
		pending[i] = true
		go func() { results <- result{i, a.protect("flush", h.name, func() error { return h.fn(ctx) })} }()
	}
	ok := true
	for range hooks {
		select {
		case r := <-results:
			pending[r.i] = false
			if r.err != nil {
				ok = false
				a.log.log(slog.LevelError, "lameduck: flush failed", "err", fmt.Errorf("flush %q: %w", hooks[r.i].name, r.err))
			}
		case <-ctx.Done():
			for i, p := range pending {
				if p {
					a.log.stillRunning(running{Kind: "flush", Name: hooks[i].name}, Flushing)
				}
			}
			return false
		}
	}
	return ok
}

// runClosers runs the closers in reverse order of registration until end.
func (a *App) runClosers(end time.Time) bool {
	a.mu.Lock()
	hooks := append([]hook(nil), a.closers...)
	a.mu.Unlock()
	ctx, cancel := context.WithDeadlineCause(context.Background(), end, ErrDeadline)
	defer cancel()
	ok := true
	for i := len(hooks) - 1; i >= 0; i-- {
		h := hooks[i]
		if ctx.Err() != nil {
			ok = false
			a.log.log(slog.LevelError, "lameduck: closer not run: close budget spent", "closer", h.name)
			continue
		}
		errc := make(chan error, 1)
		start := time.Now()
		go func() { errc <- a.protect("closer", h.name, func() error { return h.fn(ctx) }) }()
		select {
		case err := <-errc:
			if err != nil {
				ok = false
				a.log.log(slog.LevelError, "lameduck: closer failed", "closer", h.name, "err", err)
			} else {
				a.log.log(slog.LevelDebug, "lameduck: closed", "closer", h.name, "took", time.Since(start))
			}
		case <-ctx.Done():
			ok = false
			a.log.stillRunning(running{Kind: "closer", Name: h.name, Age: time.Since(start)}, Closing)
		}
	}
	return ok
}

// summary writes the one record that describes the whole shutdown.
func (a *App) summary(r request, b Budget, code int) {
	durations := make([]any, 0, numPhases)
	for p := Draining; p < Stopped; p++ {
		durations = append(durations, slog.Duration(p.String(), a.ph.enteredAt(p+1).Sub(a.ph.enteredAt(p))))
	}
	st := a.Stats()
	src := r.src.String()
	args := []any{
		"code", code, "cause", r.cause.Error(), "trigger", src,
		"budget", b.Total, "used", time.Since(r.at).Round(time.Millisecond),
		slog.Group("phases", durations...),
		"served_draining", st.ServedDraining, "drained", st.Drained, "refused", st.Refused,
		"tasks_done", st.TasksDone,
		"cut_requests", st.CutRequests, "cut_tasks", st.CutTasks,
	}
	if r.sig != nil {
		args = append(args, "signal", r.sig.String())
	}
	level := slog.LevelInfo
	if code != ExitOK {
		level = slog.LevelError
	}
	a.log.log(level, "lameduck: stopped", args...)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
