package retry

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// Transport is an http.RoundTripper that retries a request when retrying
// is safe and the failure is one a retry can fix. It is safe for
// concurrent use. See the package documentation for the rules.
type Transport struct {
	base http.RoundTripper
	opts Options
}

// New returns a Transport sending through base (http.DefaultTransport if
// nil) with opts (zero fields take their Default* values).
func New(base http.RoundTripper, opts Options) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, opts: opts.withDefaults()}
}

// Options returns the Transport's options, defaults applied.
func (t *Transport) Options() Options { return t.opts }

// CloseIdleConnections closes the base transport's idle connections, if it
// has such a method (http.Client.CloseIdleConnections calls this).
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip sends req, and sends it again after a retryable failure while
// the attempts and the time budget last. It returns the last attempt's
// response or error unchanged, or, if the request's context ends during a
// wait, an error wrapping the context's error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.opts.GenerateKeys && !idempotentMethod(req.Method) && !hasKey(req.Header) {
		r := *req
		r.Header = req.Header.Clone()
		if r.Header == nil {
			r.Header = make(http.Header)
		}
		r.Header.Set(HeaderKey, NewKey())
		req = &r
	}
	if why := replayable(req); why != nil || t.opts.MaxAttempts == 1 {
		if why == nil {
			why = ErrAttemptsExhausted
		}
		return t.once(req, why)
	}

	ctx := req.Context()
	start := time.Now()
	cur := req
	for attempt := 1; ; attempt++ {
		at := new(attemptTrace)
		at.trace.GotFirstResponseByte = at.gotFirstByte
		resp, err := t.base.RoundTrip(cur.WithContext(httptrace.WithClientTrace(ctx, &at.trace)))

		ev := Event{Request: req, Attempt: attempt, Err: err}
		switch {
		case err != nil && !at.gotByte.Load() && ctx.Err() == nil:
			ev.Reason = classify(err)
		case err == nil && resp.StatusCode == http.StatusServiceUnavailable:
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				ev.Reason, ev.RetryAfter, ev.StatusCode = ReasonRetryAfter, ra, resp.StatusCode
			}
		}
		if ev.Reason == ReasonNone {
			if resp != nil {
				resp.Request = req
			}
			return resp, err
		}

		var next *http.Request
		ev.Wait = max(t.backoff(attempt), ev.RetryAfter)
		switch {
		case attempt >= t.opts.MaxAttempts:
			ev.GiveUp = ErrAttemptsExhausted
		case ev.RetryAfter > t.opts.MaxRetryAfter:
			ev.GiveUp = ErrRetryAfterTooLong
		case time.Since(start)+ev.Wait > t.opts.MaxElapsed:
			ev.GiveUp = ErrBudgetExhausted
		default:
			if d, ok := ctx.Deadline(); ok && time.Until(d) < ev.Wait {
				ev.GiveUp = ErrBudgetExhausted
			} else if next, err = rewind(req); err != nil {
				ev.GiveUp = fmt.Errorf("lameduck/retry: GetBody: %w", err)
			}
		}
		if ev.GiveUp != nil {
			ev.Wait = 0
			t.observe(ev)
			if resp != nil {
				resp.Request = req
			}
			return resp, ev.Err
		}
		t.observe(ev)
		if resp != nil {
			_, _ = io.CopyN(io.Discard, resp.Body, t.opts.MaxDrain)
			resp.Body.Close()
		}
		if err := sleep(ctx, ev.Wait); err != nil {
			if next.Body != nil {
				next.Body.Close()
			}
			last := ev.Err
			if last == nil {
				last = fmt.Errorf("%d %s", ev.StatusCode, http.StatusText(ev.StatusCode))
			}
			return nil, fmt.Errorf("lameduck/retry: waiting to retry after attempt %d (%v): %w", attempt, last, err)
		}
		cur = next
	}
}

// attemptTrace records whether a response byte arrived during an attempt
// (one allocation for the flag and the trace).
type attemptTrace struct {
	gotByte atomic.Bool
	trace   httptrace.ClientTrace
}

func (a *attemptTrace) gotFirstByte() { a.gotByte.Store(true) }

// once sends a request that is not retried, and tells the Observer when
// it failed for a reason that would have been retryable.
func (t *Transport) once(req *http.Request, why error) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if t.opts.Observer == nil {
		return resp, err
	}
	ev := Event{Request: req, Attempt: 1, Err: err, GiveUp: why}
	switch {
	case err != nil && req.Context().Err() == nil:
		// Without a trace we cannot tell whether a response byte arrived;
		// the reason is the error's class.
		ev.Reason = classify(err)
	case err == nil && resp.StatusCode == http.StatusServiceUnavailable:
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			ev.Reason, ev.RetryAfter, ev.StatusCode = ReasonRetryAfter, ra, resp.StatusCode
		}
	}
	if ev.Reason != ReasonNone {
		t.observe(ev)
	}
	return resp, err
}

func (t *Transport) observe(ev Event) {
	if t.opts.Observer != nil {
		t.opts.Observer(ev)
	}
}

// backoff returns the full-jitter backoff before retry number attempt.
func (t *Transport) backoff(attempt int) time.Duration {
	ceil := t.opts.MaxBackoff
	if attempt-1 < 62 {
		if d := t.opts.BaseBackoff << (attempt - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	return rand.N(ceil)
}

// rewind returns a shallow copy of req for another attempt, with a fresh
// body from GetBody when it has one.
func rewind(req *http.Request) (*http.Request, error) {
	r := *req
	if hasBody(req) {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return &r, nil
}

// sleep waits for d or until ctx ends, and then returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		if cause := context.Cause(ctx); cause != ctx.Err() {
			return fmt.Errorf("%w: %w", ctx.Err(), cause)
		}
		return ctx.Err()
	}
}
