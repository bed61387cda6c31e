//go:build !unix

package lameduck

import "net"

// readable is not implemented on this platform: a request whose bytes
// arrived but were not read yet when Stopping began may be closed.
func readable(net.Conn) bool { return false }
