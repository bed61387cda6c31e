// Package retry is the client's half of a safe rollout: an
// http.RoundTripper that sends a request again when a replica went away
// under it, and only when sending it again is safe.
//
// Standard library only. Wrap the transport an http.Client uses:
//
//	client := &http.Client{Transport: retry.New(http.DefaultTransport, retry.Options{})}
//
// # What is retried
//
// A request is retryable when its method is idempotent (RFC 9110 §9.2.2:
// GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or it carries an Idempotency-Key
// (or X-Idempotency-Key) header, and, if it has a body, Request.GetBody
// can rewind it (http.NewRequest sets GetBody for bytes, strings and
// bytes.Buffer bodies). A POST without a key is never sent twice.
//
// A retryable request is retried when an attempt fails in one of three ways:
//
//   - The connection was lost before any byte of the response arrived
//     (httptrace's GotFirstResponseByte had not fired): the peer reset it
//     (ECONNRESET, ECONNABORTED, EPIPE), closed it (io.EOF,
//     io.ErrUnexpectedEOF, net/http's "server closed idle connection"), or
//     an HTTP/2 server sent GOAWAY and closed the connection before
//     answering our stream. Reason: ReasonConnectionLost. The server may
//     have processed the request: that is why only idempotent or keyed
//     requests are retried.
//   - The request was certainly not processed: the dial was refused
//     (ECONNREFUSED: nothing was sent), reset before the connection was
//     established (ECONNRESET while dialing: an L4 proxy in front of a dead
//     endpoint accepts, then resets) or timed out on the Dialer's own Timeout
//     (the SYNs went unanswered: on Kubernetes, kube-proxy REJECTs connections
//     to a Service with no ready endpoint, but the kernel rate-limits the ICMP
//     answers to one a second per client after a burst of six, so most such
//     dials hang; give the Dialer a connect timeout well below the request's
//     budget), or an HTTP/2 server refused the stream (REFUSED_STREAM, or a
//     GOAWAY whose last stream ID is below ours). Reason: ReasonUnprocessed.
//     Even so, a non-idempotent request without a key is not retried: the rule
//     stays one sentence long.
//   - The server answered 503 Service Unavailable with a valid Retry-After
//     (delay-seconds or HTTP-date) of at most MaxRetryAfter: the Transport
//     waits at least that long. lameduck servers answer this way to a
//     request that reaches them after they stopped accepting. A 503
//     without Retry-After is returned as it is. Reason: ReasonRetryAfter.
//
// Anything else (a timeout of the request's own deadline, a TLS or DNS
// error, a stream reset on purpose, any other status, a failure after the
// first response byte, an error while reading the response body after
// RoundTrip returned) goes to the caller unchanged.
//
// # Bounds
//
// At most MaxAttempts attempts; no retry whose wait would end past
// MaxElapsed after the first attempt or past the request's context
// deadline; waits drawn with full jitter from an exponential backoff (so a
// fleet of clients does not retry in lockstep) and raised to the server's
// Retry-After; a wait ends early when the request's context does. When the
// Transport gives up it returns the last attempt's response or error
// unchanged (errors.Is and status checks keep working) and tells the
// Observer why (Event.GiveUp). Discarded 503 responses are drained (up to
// MaxDrain bytes) and closed, so their connections can be reused.
//
// # What net/http already retries
//
// net/http (Go 1.26) retries some failures itself, inside Transport
// RoundTrip; those never reach this package or its Observer. On a reused
// HTTP/1 keep-alive connection: any method if nothing of the request was
// written, and otherwise the requests it deems replayable (GET, HEAD,
// OPTIONS, TRACE, or a key header; no body or a GetBody) when the server
// closed the connection before a response byte. On HTTP/2, any method: a
// stream refused with REFUSED_STREAM or above a graceful GOAWAY's last
// stream ID (up to 7 retries: one at once, then after 1s, 2s, … 32s). What it leaves to the
// caller, and this package handles: any failure on a fresh connection (a
// new replica reset or closed it; the dial was refused), PUT and DELETE, a
// GOAWAY with an error code on a connection's first stream, a GOAWAY
// followed by the close of a connection that carried our stream, and 503 +
// Retry-After. Because net/http may retry inside one attempt, a request
// can reach the network more often than MaxAttempts.
//
// # Idempotency keys
//
// A key makes a non-idempotent request retryable only if the server
// deduplicates by it: it must store the key with the write's outcome
// atomically with the write, durably before it acknowledges, and answer a
// request with a known key with the stored outcome instead of applying it
// again. Set the key once per logical operation (NewKey, or
// Options.GenerateKeys); every attempt carries the same key. See
// docs/retries.md for the server's side, the crash-safe counter's design
// and what a retry cannot fix (a SIGKILL is not a power loss).
package retry
