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

	queued atomic.Int64 // connections taken from listen queues at Stopping, not yet accepted by their server

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
	conn             net.Conn // App.Adopt: closed at the cut-off
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
	hijacked atomic.Bool
	// state is connIdle, connPending or connActive. One word, so that
	// becoming active (one swap, needed anyway) also clears pending.
	state atomic.Int32
	// h2 marks an HTTP/2 connection (TLS "h2" or h2c): it is told to go
	// away with GOAWAY instead of being closed when idle.
	h2 atomic.Bool
	// read is set by the first Read; only the reading goroutine uses it.
	read bool
}

// trackedConn states.
const (
	connIdle = iota // new, or between requests
	// connPending: bytes of a request have been read while the connection
	// was idle (a request is half received). Stopping does not close such
	// a connection as idle: the request gets an answer.
	connPending
	connActive // net/http's StateActive: a request is being read or served
)

func (c *trackedConn) pending() bool { return c.state.Load() == connPending }

// h2cPreface starts every h2c connection.
const h2cPreface = "PRI * HTTP/2.0"

// Read records a request that starts arriving on a connection between
// requests (pending), and spots the h2c preface on the first read.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.state.Load() == connIdle {
		if !c.read {
			c.read = true
			if n >= len(h2cPreface) && string(p[:len(h2cPreface)]) == h2cPreface {
				c.h2.Store(true)
			}
		}
		c.state.CompareAndSwap(connIdle, connPending)
	}
	return n, err
}

// trackingListener wraps accepted connections in trackedConns.
type trackingListener struct {
	net.Listener
	t *tracker

	mu      sync.Mutex
	closing bool       // stopAccepting was called
	queued  []net.Conn // taken from the listen queue by stopAccepting, not yet handed to the server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	fromQueue := false
	if err != nil {
		l.mu.Lock()
		if !l.closing {
			l.mu.Unlock()
			return nil, err
		}
		if len(l.queued) == 0 {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		c, l.queued = l.queued[0], l.queued[1:]
		l.mu.Unlock()
		fromQueue = true
	}
	tc := &trackedConn{Conn: c}
	if fromQueue && readable(c) {
		tc.state.Store(connPending) // its request is waiting: Stopping answers it
	}
	l.t.mu.Lock()
	l.t.conns[tc] = struct{}{}
	l.t.mu.Unlock()
	if fromQueue {
		l.t.queued.Add(-1)
		l.t.poke()
	}
	return tc, nil
}

// stopAccepting closes the listener. The connections the kernel already
// established and that wait in the listen queue are accepted first and
// served like the connections open when Stopping began (a request they
// send gets 503 + Retry-After): closing the listener would reset them,
// though their clients may have sent a request already.
func (l *trackingListener) stopAccepting() {
	l.mu.Lock()
	l.closing = true
	q := acceptQueued(l.Listener)
	l.queued = append(l.queued, q...)
	l.t.queued.Add(int64(len(q)))
	l.mu.Unlock()
	_ = l.Listener.Close()
}

// asTracked finds the trackedConn under c, looking through every wrapper
// net/http puts around a connection: a *tls.Conn (HTTPS), and for h2c
// (http.Protocols.SetUnencryptedHTTP2) a *tls.Conn whose NetConn has an
// UnencryptedNetConn method returning the real connection. Wrappers of the
// caller's own that have a NetConn method are looked through too.
func asTracked(c net.Conn) *trackedConn {
	for range 8 { // bounded: a wrapper that returns itself must not loop
		switch v := c.(type) {
		case *trackedConn:
			return v
		case interface{ UnencryptedNetConn() net.Conn }:
			c = v.UnencryptedNetConn()
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
		if c == nil {
			return nil
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
		if tc.state.Swap(connActive) != connActive {
			if tc.since.Load() == 0 {
				if tlc, ok := c.(*tls.Conn); ok && tlc.ConnectionState().NegotiatedProtocol == "h2" {
					tc.h2.Store(true)
				}
			}
			tc.since.Store(time.Now().UnixNano())
			t.activeConns.Add(1)
		}
	case http.StateIdle, http.StateClosed, http.StateHijacked:
		prev := tc.state.Swap(connIdle)
		if prev == connActive && t.activeConns.Add(-1) == 0 {
			t.poke()
		}
		if s == http.StateIdle && t.closed.Load() && !tc.h2.Load() && readable(tc.Conn) {
			tc.state.CompareAndSwap(connIdle, connPending) // Stopping waits for it (ConnGrace)
		} else if s == http.StateIdle && t.closed.Load() && !tc.h2.Load() {
			// Stopping: an HTTP/1 keep-alive connection gets no next
			// request. (An HTTP/2 connection was sent GOAWAY and closes
			// itself once its last frames are written: closing it here
			// could drop the end of the response just finished. And a
			// connection on which the next request has started arriving
			// is left open: that request gets an answer.)
			_ = tc.Conn.Close()
		}
		if s == http.StateClosed && (prev == connPending || tc.h2.Load()) {
			t.poke() // Stopping may be waiting for it to close
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
	for h := range t.holds {
		if h.conn != nil {
			_ = h.conn.Close() // adopted: released by its owner when its goroutines notice
		}
	}
}

// closeIdle closes HTTP/1 keep-alive connections that are between
// requests. Connections that have not sent a first request yet, and
// connections on which the next request is half received, are left open:
// what they send is answered (with 503) rather than cut. HTTP/2
// connections are not closed here: they were sent GOAWAY and close
// themselves once their streams are done.
func (t *tracker) closeIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		if c.state.Load() != connIdle || c.h2.Load() {
			continue
		}
		if readable(c.Conn) {
			c.state.CompareAndSwap(connIdle, connPending) // arrived, not read yet: answer it
			continue
		}
		if c.since.Load() != 0 {
			_ = c.Conn.Close()
		}
	}
}

// h2Conns counts HTTP/2 connections still open.
func (t *tracker) h2Conns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for c := range t.conns {
		if c.h2.Load() {
			n++
		}
	}
	return n
}

// pendingConns counts connections on which a request is half received,
// and those taken from a listen queue that their server has not accepted yet.
func (t *tracker) pendingConns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int(t.queued.Load())
	for c := range t.conns {
		if c.pending() && !c.h2.Load() {
			n++
		}
	}
	return n
}
