// Package balancer is a kube-proxy-like L4 load balancer for the drill.
//
// It listens on 127.0.0.1 and forwards each new TCP connection to a random
// endpoint of the current view of one "node" (each node stands for one
// kube-proxy, ingress or load-balancer instance with its own view of the
// endpoints). What it emulates:
//
//   - Endpoint changes (added, terminating, serving, removed) reach each node
//     only after a propagation lag drawn per node and per change, applied in
//     order: a node never sees an older state after a newer one.
//   - New connections pick a random ready endpoint of the chosen node's view;
//     when no endpoint is ready, a random serving-but-terminating one (the
//     kube-proxy fallback); when there is none either, the client is reset.
//   - Established connections stay on their endpoint (conntrack is not
//     flushed on endpoint changes), until one side closes them.
//   - A connection routed to an endpoint that does not listen is reset. With
//     kube-proxy the client would see "connection refused" on connect; a
//     user-space proxy has already accepted the client's connection, so it
//     closes it with SO_LINGER 0 (an RST) and records "refused" in its
//     connection log, which the drill uses to classify the failure.
//   - A reset from the backend is passed to the client as a reset; an orderly
//     close (FIN) is passed as a FIN, in each direction (half-close).
package balancer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
)

// Endpoint is the state of one backend, as an EndpointSlice carries it.
type Endpoint struct {
	ID          string `json:"id"`      // replica name, for the records
	Addr        string `json:"addr"`    // host:port
	Ready       bool   `json:"ready"`   // passing readiness and not terminating
	Serving     bool   `json:"serving"` // passing readiness (also while terminating)
	Terminating bool   `json:"terminating"`
	Removed     bool   `json:"removed"` // gone from the endpoint set
}

// Outcome of forwarding one client connection: the trace's values.
const (
	OutcomeForwarded  = trace.OutcomeForwarded  // dialed the backend; bytes flowed
	OutcomeRefused    = trace.OutcomeRefused    // backend not listening: client reset
	OutcomeNoEndpoint = trace.OutcomeNoEndpoint // the node's view was empty: client reset
	OutcomeDialError  = trace.OutcomeDialError  // any other dial failure: client reset
)

// Close kinds seen on one side of a forwarded connection: the trace's values.
const (
	CloseFIN   = trace.CloseFIN
	CloseReset = trace.CloseReset
	CloseError = trace.CloseError
)

// ConnRecord describes one client connection through the balancer.
type ConnRecord struct {
	ID       uint64    `json:"id"`
	Client   string    `json:"client"` // client address (the client's local address)
	Node     int       `json:"node"`
	Backend  string    `json:"backend,omitempty"` // endpoint ID
	Outcome  string    `json:"outcome"`
	Accepted time.Time `json:"accepted"`
	Ended    time.Time `json:"ended,omitzero"`
	// BackendClose is how the backend ended its side first, if it did
	// ("fin", "reset", "error"), and BackendClosed when.
	BackendClose  string    `json:"backend_close,omitempty"`
	BackendClosed time.Time `json:"backend_closed,omitzero"`
	// ClientClose is how the client ended its side, if it did first.
	ClientClose string `json:"client_close,omitempty"`
}

// ViewEvent records when one node applied one endpoint change.
type ViewEvent struct {
	Node     int       `json:"node"`
	Endpoint Endpoint  `json:"endpoint"`
	Changed  time.Time `json:"changed"` // when the change was made
	Applied  time.Time `json:"applied"` // when the node saw it
}

// Options configures a Balancer.
type Options struct {
	// Nodes is the number of independent views (default 1).
	Nodes int
	// Lag returns the propagation lag of the next change on node; nil means 0.
	// It is called with the balancer's lock held, in change order.
	Lag func(node int) time.Duration
	// Seed seeds the random choice of node and endpoint.
	Seed uint64
	// DialTimeout bounds the dial to a backend (default 2s).
	DialTimeout time.Duration
}

// Balancer is a running L4 balancer. Its methods are safe for concurrent use.
type Balancer struct {
	ln     net.Listener
	opts   Options
	dialer net.Dialer
	nodes  []*node
	wg     sync.WaitGroup

	mu     sync.Mutex
	rng    *rand.Rand
	conns  []*ConnRecord
	active map[net.Conn]struct{}
	events []ViewEvent
	closed bool
	nextID uint64
}

type change struct {
	ep      Endpoint
	changed time.Time
	at      time.Time
}

type node struct {
	idx   int
	mu    sync.Mutex
	view  map[string]Endpoint
	queue []change
	last  time.Time
	wake  chan struct{}
	stop  chan struct{}
}

// New starts a balancer on 127.0.0.1 with an OS-chosen port.
func New(opts Options) (*Balancer, error) {
	if opts.Nodes <= 0 {
		opts.Nodes = 1
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 2 * time.Second
	}
	// No TCP keep-alive on either side: on loopback it probes nothing, and
	// each side would cost four setsockopt calls per connection (eight of
	// the 38 system calls a connection costs otherwise).
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("balancer: listen: %w", err)
	}
	b := &Balancer{
		ln:     ln,
		opts:   opts,
		dialer: net.Dialer{Timeout: opts.DialTimeout, KeepAlive: -1},
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		active: make(map[net.Conn]struct{}),
	}
	for i := range opts.Nodes {
		n := &node{idx: i, view: make(map[string]Endpoint), wake: make(chan struct{}, 1), stop: make(chan struct{})}
		b.nodes = append(b.nodes, n)
		b.wg.Add(1)
		go b.propagate(n)
	}
	b.wg.Add(1)
	go b.serve()
	return b, nil
}

// Addr is the address clients connect to.
func (b *Balancer) Addr() string { return b.ln.Addr().String() }

// Update publishes a new state of one endpoint. Each node applies it after
// its own propagation lag.
func (b *Balancer) Update(ep Endpoint) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for _, n := range b.nodes {
		var lag time.Duration
		if b.opts.Lag != nil {
			lag = b.opts.Lag(n.idx)
		}
		at := now.Add(lag)
		n.mu.Lock()
		if at.Before(n.last) {
			at = n.last // in order: never apply a change before an earlier one
		}
		n.last = at
		n.queue = append(n.queue, change{ep: ep, changed: now, at: at})
		n.mu.Unlock()
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
}

func (b *Balancer) propagate(n *node) {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n.mu.Lock()
		var wait time.Duration = time.Hour
		var applied []ViewEvent
		for len(n.queue) > 0 {
			c := n.queue[0]
			if d := time.Until(c.at); d > 0 {
				wait = d
				break
			}
			n.queue = n.queue[1:]
			if c.ep.Removed {
				delete(n.view, c.ep.ID)
			} else {
				n.view[c.ep.ID] = c.ep
			}
			applied = append(applied, ViewEvent{Node: n.idx, Endpoint: c.ep, Changed: c.changed, Applied: time.Now()})
		}
		n.mu.Unlock()
		// Lock order is b.mu before n.mu (Update): record after unlocking.
		for _, e := range applied {
			b.recordEvent(e)
		}
		timer.Reset(wait)
		select {
		case <-n.stop:
			return
		case <-n.wake:
		case <-timer.C:
		}
	}
}

func (b *Balancer) recordEvent(e ViewEvent) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
}

// View returns the endpoints node currently sees.
func (b *Balancer) View(node int) []Endpoint {
	n := b.nodes[node]
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Endpoint, 0, len(n.view))
	for _, ep := range n.view {
		out = append(out, ep)
	}
	return out
}

// pick chooses a node and an endpoint for a new connection.
func (b *Balancer) pick() (int, Endpoint, bool) {
	b.mu.Lock()
	ni := b.rng.IntN(len(b.nodes))
	b.mu.Unlock()
	n := b.nodes[ni]
	n.mu.Lock()
	var ready, serving []Endpoint
	for _, ep := range n.view {
		switch {
		case ep.Ready && !ep.Terminating:
			ready = append(ready, ep)
		case ep.Serving && ep.Terminating:
			serving = append(serving, ep)
		}
	}
	n.mu.Unlock()
	set := ready
	if len(set) == 0 {
		set = serving // kube-proxy falls back to serving-but-terminating endpoints
	}
	if len(set) == 0 {
		return ni, Endpoint{}, false
	}
	sortByID(set) // map order is random; sort so that the seed decides
	b.mu.Lock()
	ep := set[b.rng.IntN(len(set))]
	b.mu.Unlock()
	return ni, ep, true
}

func sortByID(eps []Endpoint) {
	for i := 1; i < len(eps); i++ {
		for j := i; j > 0 && eps[j].ID < eps[j-1].ID; j-- {
			eps[j], eps[j-1] = eps[j-1], eps[j]
		}
	}
}

func (b *Balancer) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // e.g. EMFILE: back off
			continue
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			c.Close()
			return
		}
		b.nextID++
		rec := &ConnRecord{ID: b.nextID, Client: c.RemoteAddr().String(), Accepted: time.Now()}
		b.conns = append(b.conns, rec)
		b.active[c] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		go b.handle(c, rec)
	}
}

// reset closes c with an RST instead of a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (b *Balancer) forget(c net.Conn) {
	b.mu.Lock()
	delete(b.active, c)
	b.mu.Unlock()
}

func (b *Balancer) handle(client net.Conn, rec *ConnRecord) {
	defer b.wg.Done()
	defer b.forget(client)
	ni, ep, ok := b.pick()
	b.mu.Lock()
	rec.Node = ni
	rec.Backend = ep.ID
	b.mu.Unlock()
	if !ok {
		b.finish(rec, OutcomeNoEndpoint)
		reset(client)
		return
	}
	backend, err := b.dialer.Dial("tcp", ep.Addr)
	if err != nil {
		outcome := OutcomeDialError
		if errors.Is(err, syscall.ECONNREFUSED) {
			outcome = OutcomeRefused
		}
		b.finish(rec, outcome)
		reset(client)
		return
	}
	b.mu.Lock()
	rec.Outcome = OutcomeForwarded
	if b.closed {
		b.mu.Unlock()
		reset(client)
		reset(backend)
		return
	}
	b.active[backend] = struct{}{}
	b.mu.Unlock()
	defer b.forget(backend)

	done := make(chan struct{})
	go func() { // client -> backend
		defer close(done)
		_, err := copyConn(backend, client)
		kind := closeKind(err)
		b.mu.Lock()
		if rec.BackendClose == "" {
			rec.ClientClose = kind
		}
		b.mu.Unlock()
		if kind == CloseFIN {
			_ = backend.(*net.TCPConn).CloseWrite()
		} else {
			reset(backend)
		}
	}()
	// backend -> client
	_, err = copyConn(client, backend)
	kind := closeKind(err)
	b.mu.Lock()
	if rec.ClientClose == "" {
		rec.BackendClose = kind
		rec.BackendClosed = time.Now()
	}
	b.mu.Unlock()
	if kind == CloseFIN {
		_ = client.(*net.TCPConn).CloseWrite()
	} else {
		reset(client)
	}
	<-done
	_ = client.Close()
	_ = backend.Close()
	b.finish(rec, "")
}

func (b *Balancer) finish(rec *ConnRecord, outcome string) {
	b.mu.Lock()
	if outcome != "" {
		rec.Outcome = outcome
	}
	rec.Ended = time.Now()
	b.mu.Unlock()
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyConn copies with plain read and write calls. io.Copy between two
// TCPConns would splice(2) through a pipe: two syscalls per chunk plus the
// pipe, which costs more than it saves for small HTTP messages.
//
// It reads until EAGAIN before it waits (one read per message that finds
// nothing), as net.Conn does. Waiting right after a short read instead
// would save that read, but a FIN that arrived with the data is then
// never seen: its readiness notification was consumed by the read that
// returned the data (TestBulkTransferAndHalfClose catches this).
func copyConn(dst, src net.Conn) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *bp)
}

// closeKind names how a copy loop ended. io.Copy returns nil on EOF.
func closeKind(err error) string {
	switch {
	case err == nil:
		return CloseFIN
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return CloseReset
	default:
		return CloseError
	}
}

// Conns returns a copy of the connection log, in accept order.
func (b *Balancer) Conns() []ConnRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]ConnRecord, len(b.conns))
	for i, r := range b.conns {
		out[i] = *r
	}
	return out
}

// Events returns a copy of the view-change log, in the order nodes applied
// the changes.
func (b *Balancer) Events() []ViewEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]ViewEvent(nil), b.events...)
}

// Close stops accepting, resets every open connection and waits for all of
// the balancer's goroutines.
func (b *Balancer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	err := b.ln.Close()
	for c := range b.active {
		reset(c)
	}
	b.mu.Unlock()
	for _, n := range b.nodes {
		close(n.stop)
	}
	b.wg.Wait()
	return err
}
