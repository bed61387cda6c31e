package retry

import (
	"net/http"
	"time"
)

// Reason says why a failed attempt is retryable.
type Reason int

// The reasons. ReasonNone is not retryable: the response or error is
// returned to the caller without an Event.
const (
	ReasonNone Reason = iota
	// ReasonConnectionLost: the connection was reset or closed before any
	// byte of the response arrived (ECONNRESET, EOF, "server closed idle
	// connection", HTTP/2 GOAWAY followed by the connection's close). The
	// server may have received and processed the request.
	ReasonConnectionLost
	// ReasonUnprocessed: the request was certainly not processed: the dial
	// was refused, reset or timed out (nothing was sent), or an HTTP/2
	// server refused the stream (REFUSED_STREAM, or GOAWAY with a last
	// stream ID below it) and net/http's own HTTP/2 retries did not get it
	// through.
	ReasonUnprocessed
	// ReasonRetryAfter: the server answered 503 with a valid Retry-After.
	ReasonRetryAfter
)

// String returns the reason's name as used in metrics labels.
func (r Reason) String() string {
	switch r {
	case ReasonConnectionLost:
		return "connection_lost"
	case ReasonUnprocessed:
		return "unprocessed"
	case ReasonRetryAfter:
		return "retry_after"
	default:
		return "none"
	}
}

// Event describes one attempt that failed for a retryable reason; the
// Observer receives it.
type Event struct {
	// Request is the request given to RoundTrip (a copy carrying the
	// generated key if Options.GenerateKeys added one).
	Request *http.Request
	// Attempt is the failed attempt's number, 1 for the first.
	Attempt int
	// Reason is why the attempt is retryable. For a request that is not
	// replayable (GiveUp ErrNotIdempotent or ErrBodyNotRewindable) the
	// Transport does not trace whether a response byte arrived: Reason is
	// the error's class.
	Reason Reason
	// Err is the attempt's error, nil for a 503 response.
	Err error
	// StatusCode is the attempt's response status, 0 when Err is set.
	StatusCode int
	// RetryAfter is the 503's Retry-After, 0 otherwise.
	RetryAfter time.Duration
	// Wait is how long the Transport waits before the next attempt; it is
	// 0 when GiveUp is set.
	Wait time.Duration
	// GiveUp is nil when the Transport retries; otherwise why it does not
	// (ErrNotIdempotent, ErrBodyNotRewindable, ErrAttemptsExhausted,
	// ErrBudgetExhausted, ErrRetryAfterTooLong, or GetBody's error).
	GiveUp error
}
