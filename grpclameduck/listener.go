package grpclameduck

import (
	"net"
	"sync"
	"time"
)

// listener tracks the connections it accepts, so that the connections
// still in their handshake can be closed when Stopping begins and all of
// them at the cut-off: grpc.Server's GracefulStop and Stop both wait for
// handshakes in progress, which last up to ConnectionTimeout (120s unless
// set) for a client that connects and sends nothing.
type listener struct {
	net.Listener
	mu       sync.Mutex
	conns    map[*conn]struct{}
	stopping bool
}

// conn is an accepted connection. gRPC sets a deadline on it for the
// handshake and clears it (a zero deadline) once the handshake is done.
type conn struct {
	net.Conn
	l           *listener
	mu          sync.Mutex
	established bool
	closed      bool
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.stopping {
			// Accepted in the instant before GracefulStop closes the
			// listener: its client retries elsewhere.
			l.mu.Unlock()
			_ = c.Close()
			continue
		}
		tc := &conn{Conn: c, l: l}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

// stopHandshakes closes the connections still in their handshake and every
// connection accepted from now on.
func (l *listener) stopHandshakes() {
	l.mu.Lock()
	l.stopping = true
	var hs []*conn
	for c := range l.conns {
		c.mu.Lock()
		if !c.established {
			hs = append(hs, c)
		}
		c.mu.Unlock()
	}
	l.mu.Unlock()
	for _, c := range hs {
		_ = c.Close()
	}
}

// closeAll closes every connection.
func (l *listener) closeAll() {
	l.mu.Lock()
	l.stopping = true
	cs := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		cs = append(cs, c)
	}
	l.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
}

func (c *conn) SetDeadline(t time.Time) error {
	if t.IsZero() {
		c.mu.Lock()
		c.established = true
		c.mu.Unlock()
	}
	return c.Conn.SetDeadline(t)
}

func (c *conn) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	if first {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	}
	return c.Conn.Close()
}
