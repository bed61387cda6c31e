package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// idempotentMethod reports whether m is idempotent (RFC 9110 §9.2.2).
func idempotentMethod(m string) bool {
	switch m {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// hasKey reports whether h carries an idempotency key. Like net/http's own
// retry rule it accepts X-Idempotency-Key too, and counts a header that is
// present with no value (which net/http does not send).
func hasKey(h http.Header) bool {
	_, ok := h[HeaderKey]
	if !ok {
		_, ok = h["X-Idempotency-Key"]
	}
	return ok
}

// hasBody reports whether r has a request body to send.
func hasBody(r *http.Request) bool { return r.Body != nil && r.Body != http.NoBody }

// replayable says why r may not be sent twice, or nil if it may.
func replayable(r *http.Request) error {
	if !idempotentMethod(r.Method) && !hasKey(r.Header) {
		return ErrNotIdempotent
	}
	if hasBody(r) && r.GetBody == nil {
		return ErrBodyNotRewindable
	}
	return nil
}

// h2StreamError mirrors net/http's bundled http2StreamError, whose As
// method fills any struct with the same field names and convertible types.
type h2StreamError struct {
	StreamID uint32
	Code     uint32
	Cause    error
}

func (e h2StreamError) Error() string {
	return fmt.Sprintf("stream error: stream ID %d; code %d", e.StreamID, e.Code)
}

// h2RefusedStream is the HTTP/2 REFUSED_STREAM error code (RFC 9113 §7).
const h2RefusedStream = 0x7

// Errors net/http reports only through their text (unexported values or
// types in net/http and its bundled HTTP/2 transport, Go 1.26).
const (
	// errServerClosedIdle: the server closed a connection while the request
	// was being sent on it (HTTP/1 keep-alive race).
	msgServerClosedIdle = "http: server closed idle connection"
	// http2GoAwayError: GOAWAY then close with our stream at or below the
	// last stream ID: received, maybe processed, not answered.
	msgGoAwayClosed = "http2: server sent GOAWAY and closed the connection"
	// Streams above the GOAWAY's last stream ID: not processed. net/http
	// retries these itself; they reach us when it gives up (after 7
	// attempts, or at once for a first stream and a GOAWAY error code).
	msgGoAwayGraceful = "http2: Transport received Server's graceful shutdown GOAWAY"
	msgGoAwayCode     = "http2: Transport received GOAWAY from server ErrCode:"
	// The connection ended before the response headers.
	msgH2ConnLost = "http2: client connection lost"
)

// classify says whether err, returned before any response byte arrived,
// is a retryable transport failure.
//
// The Transport only asks while the request's context is live, so a dial
// timeout here is the Dialer's own (its Timeout or Deadline), not the
// request's deadline.
func classify(err error) Reason {
	if err == nil || errors.Is(err, context.Canceled) {
		return ReasonNone
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		var dns *net.DNSError
		switch {
		case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
			// Nothing was sent: the connection was refused, or reset
			// before it was established (an L4 proxy in front of a
			// dead endpoint accepts, then resets).
			return ReasonUnprocessed
		case op.Timeout() && !errors.As(err, &dns):
			// The handshake never completed, so nothing was sent:
			// SYNs dropped, as kube-proxy's REJECT does once the
			// kernel's ICMP rate limit is spent (one per second per
			// client after a burst of six) while a Service has no
			// ready endpoint.
			return ReasonUnprocessed
		}
		return ReasonNone // DNS and other dial errors: not a peer that went away
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ReasonNone
	}
	var se h2StreamError
	if errors.As(err, &se) {
		if se.Code == h2RefusedStream {
			return ReasonUnprocessed
		}
		return ReasonNone // the server reset the stream on purpose
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		msg := e.Error()
		switch {
		case strings.HasPrefix(msg, msgGoAwayGraceful), strings.HasPrefix(msg, msgGoAwayCode):
			return ReasonUnprocessed
		case msg == msgServerClosedIdle, strings.HasPrefix(msg, msgGoAwayClosed), msg == msgH2ConnLost:
			return ReasonConnectionLost
		}
	}
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonConnectionLost
	}
	return ReasonNone
}
