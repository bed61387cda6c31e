// Package blackhole gives tests a loopback address whose dials never
// complete: a listening socket whose accept queue is full and never
// drained, so the kernel drops every further SYN. A dial to it hangs as a
// dial to a Kubernetes Service with no ready endpoint does once the
// kernel's ICMP rate limit has swallowed kube-proxy's REJECT answers.
package blackhole

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// Addr returns a black-hole address on 127.0.0.1, open until the test
// ends. It checks that a dial to it really times out before returning.
func Addr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	// Backlog 0: the accept queue holds one connection; SYNs beyond it
	// are dropped (tcp_abort_on_overflow is 0 by default).
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			var op *net.OpError
			if errors.As(err, &op) && op.Timeout() {
				return addr
			}
			t.Fatalf("blackhole: filling the accept queue: %v", err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("blackhole: the socket still accepts after 8 connections")
	return ""
}
