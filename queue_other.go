//go:build !unix

package lameduck

import "net"

// acceptQueued is not implemented on this platform: connections waiting in
// the listen queue when Stopping begins are reset when the listener closes.
func acceptQueued(net.Listener) []net.Conn { return nil }
