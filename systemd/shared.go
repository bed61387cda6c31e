package systemd

import (
	"errors"
	"net"
	"os"
	"sync"
)

// SharedListener is a listening socket that another process holds too
// (systemd, which passed it; or the successor of an in-place upgrade).
// Release stops this process accepting from it at once: the socket stays
// open in the other holder, and the connections the kernel queues wait
// for that holder (or the next process it starts) instead of being
// refused. Until Close, Accept then blocks, so an http.Server serving it
// keeps its open connections.
type SharedListener struct {
	net.Listener
	releaseOnce, closeOnce sync.Once
	released, closed       chan struct{}
}

// Share wraps ln, a listener whose socket another process also holds.
func Share(ln net.Listener) *SharedListener {
	return &SharedListener{Listener: ln, released: make(chan struct{}), closed: make(chan struct{})}
}

// Accept waits for the next connection; after Release it blocks until Close.
func (l *SharedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		return c, nil
	}
	select {
	case <-l.released:
		<-l.closed
		return nil, net.ErrClosed
	default:
		return nil, err
	}
}

// Release stops accepting and closes this process's descriptor of the
// socket. A connection accepted concurrently is still returned and served.
func (l *SharedListener) Release() {
	l.releaseOnce.Do(func() {
		close(l.released)
		_ = l.Listener.Close()
	})
}

// Close releases the socket and ends a blocked Accept.
func (l *SharedListener) Close() error {
	l.Release()
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

// File returns a duplicate of the socket's descriptor, to hand it on.
func (l *SharedListener) File() (*os.File, error) {
	if f, ok := l.Listener.(interface{ File() (*os.File, error) }); ok {
		return f.File()
	}
	return nil, errors.New("systemd: this listener has no file descriptor")
}
