package lameduck

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// closedBit marks the request gate closed: it works like a sync.WaitGroup
// that refuses Add once Wait has begun. The low bits count requests in flight.
const closedBit = 1 << 62

// tracker follows every request and connection of an App's HTTP servers.
//
// A request on a connection accepted by an App listener marks itself on
// its connection (one compare-and-swap in, one store out) and then checks
// the closed flag; Stopping sets the flag and then looks at the marks.
// With sequentially consistent atomics one of the two always sees the
// other, so the gate works like a sync.WaitGroup that refuses Add once Wait
// has begun, without a counter shared by all cores. Requests without such
// a connection (servers the App does not run, concurrent HTTP/2 streams)
// take the slower path: a shared counter and a map. Everything else (the
// connection registry, ages, the drained condition) is paid per
// connection or only while shutting down.
type tracker struct {
	closed      atomic.Bool  // the gate is closed: Stopping began
	gate        atomic.Int64 // slow-path requests in flight | closedBit
	draining    atomic.Bool
	activeConns atomic.Int64 // connections in http.StateActive
	lastArrival atomic.Int64 // unix nanos of the newest request; written only while draining

	servedDraining atomic.Int64
	refused        atomic.Int64
	drained        atomic.Int64 // requests that finished after Stopping began

	kick chan struct{} // capacity 1: "something reached zero, re-check"

	mu       sync.Mutex
	conns    map[*trackedConn]struct{}
	hijacked map[*trackedConn]struct{}   // hijacked connections whose handler still runs
	slow     map[*http.Request]time.Time // requests not recorded on a trackedConn
	holds    map[*hold]struct{}          // work registered with App.Hold
}

// hold is one unit of work registered with App.Hold.
type hold struct {
	kind, name, peer string
	start            time.Time
}

func (t *tracker) init() {
	t.kick = make(chan struct{}, 1)
	t.conns = make(map[*trackedConn]struct{})
	t.hijacked = make(map[*trackedConn]struct{})
	t.slow = make(map[*http.Request]time.Time)
	t.holds = make(map[*hold]struct{})
}

func (t *tracker) poke() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// inFlight returns the number of requests inside the middleware.
func (t *tracker) inFlight() int64 {
	n := t.gate.Load() &^ closedBit
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range []map[*trackedConn]struct{}{t.conns, t.hijacked} {
		for c := range m {
			if c.cur.Load() != nil {
				n++
			}
		}
	}
	return n
}

// closeGate refuses every request that has not entered yet.
func (t *tracker) closeGate() {
	t.closed.Store(true)
	t.gate.Or(closedBit)
	t.poke()
}

// idle reports whether no request is in flight and no connection is still
// writing a response.
func (t *tracker) idle() bool { return t.activeConns.Load() == 0 && t.inFlight() == 0 }

// middleware is the handler App.Handler returns.
type middleware struct {
	t    *tracker
	next http.Handler
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := m.t
	c, _ := r.Context().Value(connKey{}).(*trackedConn)
	if c == nil || !c.cur.CompareAndSwap(nil, r) {
		m.serveSlow(w, r)
		return
	}
	if t.closed.Load() {
		c.cur.Store(nil)
		t.poke()
		t.refused.Add(1)
		t.refuse(w)
		return
	}
	if t.draining.Load() {
		m.drainingRequest(w)
	}
	// Not deferred: when a handler panics, net/http closes the connection
	// and connState clears the mark.
	m.next.ServeHTTP(w, r)
	c.cur.Store(nil)
	if t.closed.Load() || c.hijacked.Load() {
		t.left(c)
	}
}

// left is the slow path after a request on a tracked connection: it
// forgets a hijacked connection whose handler has returned, and counts a
// request that finished while Stopping.
func (t *tracker) left(c *trackedConn) {
	if c.hijacked.Load() {
		t.mu.Lock()
		delete(t.hijacked, c)
		t.mu.Unlock()
	}
	if t.closed.Load() {
		t.drained.Add(1)
		t.poke()
	}
}

// enterGate counts one unit of slow-path work in, or reports false (and
// counts a refusal) once the gate is closed.
func (t *tracker) enterGate() bool {
	if t.gate.Add(1)&closedBit != 0 {
		if t.gate.Add(-1) == closedBit {
			t.poke()
		}
		t.refused.Add(1)
		return false
	}
	return true
}

// leaveGate counts one unit of slow-path work out.
func (t *tracker) leaveGate() {
	if n := t.gate.Add(-1); n&closedBit != 0 {
		t.drained.Add(1)
		t.poke()
	}
}

// serveSlow serves a request that could not be marked on its connection.
func (m *middleware) serveSlow(w http.ResponseWriter, r *http.Request) {
	t := m.t
	if !t.enterGate() {
		t.refuse(w)
		return
	}
	t.mu.Lock()
	t.slow[r] = time.Now()
	t.mu.Unlock()
	if t.draining.Load() {
		m.drainingRequest(w)
	}
	defer func() {
		t.mu.Lock()
		delete(t.slow, r)
		t.mu.Unlock()
		t.leaveGate()
	}()
	m.next.ServeHTTP(w, r)
}

// drainingRequest is the slow path taken while Draining: the response tells
// keep-alive clients to reconnect (to another replica), and the arrival is
// recorded for the adaptive drain delay.
func (m *middleware) drainingRequest(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	m.t.lastArrival.Store(time.Now().UnixNano())
	m.t.servedDraining.Add(1)
}

var retryAfter = strconv.Itoa(int(DefaultRetryAfter / time.Second))

// refuse answers a request that arrived after Stopping began.
func (t *tracker) refuse(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Retry-After", retryAfter)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("lameduck: shutting down, retry on another replica\n"))
}

// connKey finds a request's trackedConn in its context.
type connKey struct{}

// trackedConn is a connection accepted by an App listener.
type trackedConn struct {
	net.Conn
	cur      atomic.Pointer[http.Request] // the request being served (HTTP/1)
	since    atomic.Int64                 // unix nanos when the connection last became active
	active   atomic.Bool
	hijacked atomic.Bool
}

// trackingListener wraps accepted connections in trackedConns.
type trackingListener struct {
	net.Listener
	t *tracker
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c}
	l.t.mu.Lock()
	l.t.conns[tc] = struct{}{}
	l.t.mu.Unlock()
	return tc, nil
}

// asTracked finds the trackedConn under c (which may be a *tls.Conn).
func asTracked(c net.Conn) *trackedConn {
	if tc, ok := c.(*trackedConn); ok {
		return tc
	}
	if tc, ok := c.(*tls.Conn); ok {
		if inner, ok := tc.NetConn().(*trackedConn); ok {
			return inner
		}
	}
	return nil
}

// connState is installed as http.Server.ConnState.
func (t *tracker) connState(c net.Conn, s http.ConnState) {
	tc := asTracked(c)
	if tc == nil {
		return
	}
	switch s {
	case http.StateActive:
		if !tc.active.Swap(true) {
			tc.since.Store(time.Now().UnixNano())
			t.activeConns.Add(1)
		}
	case http.StateIdle, http.StateClosed, http.StateHijacked:
		if tc.active.Swap(false) && t.activeConns.Add(-1) == 0 {
			t.poke()
		}
		if s == http.StateIdle && t.closed.Load() {
			_ = tc.Conn.Close() // stopping: a keep-alive connection gets no next request
		}
		if s == http.StateClosed && tc.cur.Swap(nil) != nil {
			t.poke() // a handler panicked, or the connection was force-closed
		}
		if s != http.StateIdle {
			t.mu.Lock()
			delete(t.conns, tc)
			if s == http.StateHijacked && tc.cur.Load() != nil {
				// The handler owns the connection now (a WebSocket, say); the
				// server no longer tracks it, so the App does, to name it and
				// close it if Stopping's budget runs out.
				tc.hijacked.Store(true)
				t.hijacked[tc] = struct{}{}
			}
			t.mu.Unlock()
		}
	}
}

// connContext is installed as http.Server.ConnContext.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc := asTracked(c); tc != nil {
		return context.WithValue(ctx, connKey{}, tc)
	}
	return ctx
}

// running describes work still running, for the log.
type running struct {
	Kind string        // "request", "hijacked connection", "task", "worker", a Hold kind, …
	Name string        // "POST /incr", the task's name, …
	Age  time.Duration // how long it has been running
	Peer string        // the client's address, for requests
}

// runningRequests lists the requests in flight, oldest first.
func (t *tracker) runningRequests(now time.Time) []running {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []running
	for _, m := range []map[*trackedConn]struct{}{t.conns, t.hijacked} {
		for c := range m {
			if r := c.cur.Load(); r != nil {
				kind := "request"
				if c.hijacked.Load() {
					kind = "hijacked connection"
				}
				out = append(out, running{Kind: kind, Name: r.Method + " " + r.URL.Path, Peer: r.RemoteAddr,
					Age: now.Sub(time.Unix(0, c.since.Load()))})
			}
		}
	}
	for r, at := range t.slow {
		out = append(out, running{Kind: "request", Name: r.Method + " " + r.URL.Path, Peer: r.RemoteAddr, Age: now.Sub(at)})
	}
	for h := range t.holds {
		out = append(out, running{Kind: h.kind, Name: h.name, Peer: h.peer, Age: now.Sub(h.start)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Age > out[j].Age })
	return out
}

// closeHijacked force-closes hijacked connections whose handlers still run.
func (t *tracker) closeHijacked() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.hijacked {
		_ = c.Conn.Close()
		delete(t.hijacked, c)
	}
}

// closeIdle closes keep-alive connections that are between requests.
// Connections that have not sent a first request yet are left open: what
// they send is answered (with 503) rather than cut.
func (t *tracker) closeIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		if !c.active.Load() && c.since.Load() != 0 {
			_ = c.Conn.Close()
		}
	}
}
