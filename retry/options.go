package retry

import (
	"errors"
	"time"
)

// Defaults for the zero fields of Options.
const (
	// DefaultMaxAttempts is the number of attempts, the first included.
	DefaultMaxAttempts = 4
	// DefaultMaxElapsed bounds the time from the first attempt's start to
	// the last retry's start.
	DefaultMaxElapsed = 10 * time.Second
	// DefaultBaseBackoff is the cap of the first backoff; it doubles with
	// each retry up to DefaultMaxBackoff.
	DefaultBaseBackoff = 50 * time.Millisecond
	// DefaultMaxBackoff caps the backoff between two attempts.
	DefaultMaxBackoff = 2 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After honoured. lameduck
	// servers send Retry-After: 1 while stopping.
	DefaultMaxRetryAfter = 5 * time.Second
	// DefaultMaxDrain is how much of a discarded response body is read so
	// that its connection can be reused; a longer body is closed unread
	// (which closes its HTTP/1 connection).
	DefaultMaxDrain = 64 << 10
)

// Options configure a Transport. The zero value is ready to use: every
// zero field takes its Default* value.
type Options struct {
	// MaxAttempts is the number of attempts, the first included; 1 disables
	// retries. Zero or less means DefaultMaxAttempts.
	MaxAttempts int
	// MaxElapsed is the total time budget: a retry whose wait would end
	// more than MaxElapsed after the first attempt started is not made.
	// The request's context deadline, if sooner, applies the same way.
	// Zero or less means DefaultMaxElapsed.
	MaxElapsed time.Duration
	// BaseBackoff and MaxBackoff shape the exponential backoff with full
	// jitter: before retry n (n = 1, 2, …) the Transport waits a random
	// duration in [0, min(MaxBackoff, BaseBackoff·2^(n-1))). A 503's
	// Retry-After raises the wait to at least what the server asked.
	// Zero or less means DefaultBaseBackoff and DefaultMaxBackoff.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MaxRetryAfter is the longest Retry-After honoured: a 503 asking for a
	// longer wait is returned to the caller as it is (waiting less than the
	// server asked would defeat the header). Zero or less means
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// MaxDrain is how many bytes of a discarded 503 body are read before it
	// is closed. Zero or less means DefaultMaxDrain.
	MaxDrain int64

	// GenerateKeys adds an Idempotency-Key header (a fresh NewKey) to every
	// request whose method is not idempotent and that carries no key yet,
	// which makes it retryable. Only set it if the server deduplicates by
	// that header: a key the server ignores makes a retried POST a
	// duplicate. The key is set on a copy; the caller's request is not
	// modified.
	GenerateKeys bool

	// Observer, if not nil, is called synchronously for every attempt that
	// failed for a retryable reason (connection lost, unprocessed, 503 +
	// Retry-After), before the wait when the Transport retries and before
	// returning when it does not. Feed metrics from it; keep it fast.
	Observer func(Event)
}

// Why a failed attempt was not retried: the Event.GiveUp values. The
// caller receives the last attempt's response or error unchanged, not
// these.
var (
	// ErrNotIdempotent: the method is not idempotent (RFC 9110 §9.2.2) and
	// the request carries no Idempotency-Key.
	ErrNotIdempotent = errors.New("lameduck/retry: not idempotent and no Idempotency-Key")
	// ErrBodyNotRewindable: the request has a body and no GetBody.
	ErrBodyNotRewindable = errors.New("lameduck/retry: body cannot be rewound (no Request.GetBody)")
	// ErrAttemptsExhausted: MaxAttempts attempts were made.
	ErrAttemptsExhausted = errors.New("lameduck/retry: attempts exhausted")
	// ErrBudgetExhausted: the wait would end past MaxElapsed or the
	// request's context deadline.
	ErrBudgetExhausted = errors.New("lameduck/retry: time budget exhausted")
	// ErrRetryAfterTooLong: the server asked for a wait above MaxRetryAfter.
	ErrRetryAfterTooLong = errors.New("lameduck/retry: Retry-After above MaxRetryAfter")
)

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxElapsed <= 0 {
		o.MaxElapsed = DefaultMaxElapsed
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.MaxDrain <= 0 {
		o.MaxDrain = DefaultMaxDrain
	}
	return o
}
