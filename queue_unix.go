//go:build unix

package lameduck

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// maxQueued bounds how many waiting connections acceptQueued takes.
const maxQueued = 4096

// acceptQueued accepts, without blocking, the connections the kernel has
// already established on ln and that wait in its listen queue. Closing a
// listener resets them, although their clients may have sent a request.
func acceptQueued(ln net.Listener) []net.Conn {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var fds []int
	_ = rc.Control(func(fd uintptr) {
		for len(fds) < maxQueued {
			nfd, _, err := syscall.Accept(int(fd)) // the listener is non-blocking: EAGAIN when empty
			switch {
			case err == nil:
				syscall.CloseOnExec(nfd)
				fds = append(fds, nfd)
			case errors.Is(err, syscall.EINTR), errors.Is(err, syscall.ECONNABORTED):
			default:
				return
			}
		}
	})
	conns := make([]net.Conn, 0, len(fds))
	for _, nfd := range fds {
		f := os.NewFile(uintptr(nfd), "accepted")
		c, err := net.FileConn(f) // duplicates the descriptor
		_ = f.Close()
		if err == nil {
			conns = append(conns, c)
		}
	}
	return conns
}
