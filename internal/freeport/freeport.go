// Package freeport picks loopback TCP ports for processes that must bind
// them themselves (replicas given PORT, a redis-server given --port).
//
// Asking the kernel for port 0 returns a port from the ephemeral range
// (net.ipv4.ip_local_port_range, 32768–60999 by default), the same range
// outgoing connections draw their local ports from. Between closing the
// probe listener and the child binding the port, any outgoing connection —
// the drill's own load generator opens thousands — can take it, and the
// child fails with "address already in use". Ports below the ephemeral
// range are never handed to outgoing connections, so Port picks there.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// low is the lowest port Port picks.
const low = 10000

// Port returns a port on 127.0.0.1 that was free a moment ago and is not
// in the ephemeral range.
func Port() (int, error) {
	high := ephemeralLow()
	if high-low < 1000 { // an unusual ephemeral range: fall back to the kernel's choice
		return kernelPort()
	}
	for range 100 {
		if p := low + rand.IntN(high-low); free(p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("freeport: no free port in %d–%d after 100 tries", low, high-1)
}

// free reports whether the port can be bound on every address: children
// bind ":PORT" (all addresses), which fails when any socket listens on the
// port at one address (a kubelet on NODE-IP:10250), although a probe on
// 127.0.0.1 alone would succeed.
func free(p int) bool {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// ephemeralLow returns the first port of the ephemeral range (32768 when
// it cannot be read, as on systems without /proc).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}

func kernelPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
