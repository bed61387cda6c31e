// Package stream helps long-lived HTTP responses end cleanly when a
// lameduck App shuts down: WebSockets, Server-Sent Events and long polls.
//
// The core package already keeps such requests safe: a streaming response
// or a hijacked WebSocket connection counts as in flight, so Stopping waits
// for its handler to return, and when Stopping's budget is spent the
// handler's context is cancelled and its connection force-closed (named in
// the "lameduck: still running" log). What the core cannot do is end a
// stream politely: only the handler can send a WebSocket close frame or a
// final event. This package tells it when.
//
// # Timeline
//
// For a stream open when the shutdown starts at T0:
//
//	T0          Draining: Context's context is cancelled with cause
//	            ErrGoingAway. The handler sends a close frame (1001 Going
//	            Away) or a final event and returns; the client reconnects.
//	            Listeners still accept during Draining, so the reconnect may
//	            come back to this replica while the load balancer catches up.
//	T0+delay    Stopping: a stream that was opened during Draining (a client
//	            the balancer still sent here) is cancelled now; listeners are
//	            closed, so its reconnect goes to another replica.
//	≤ cut-off   handlers that ignored the signal are cut: request contexts
//	            cancelled, connections force-closed and named in the log.
//
// Ending old streams at Draining spreads the reconnects over the drain
// delay; ending the streams opened during Draining only at Stopping keeps a
// client from being bounced back and forth while the balancer still routes
// to this replica.
//
// # Slow clients
//
// A client that stops reading makes writes block once the socket buffers
// are full. http.Server.WriteTimeout cannot help a stream (it bounds the
// whole response), so Events sets a deadline on every write (see
// Events.WriteTimeout): a stalled client fails its stream instead of
// pinning a goroutine and, at shutdown, the process.
package stream
