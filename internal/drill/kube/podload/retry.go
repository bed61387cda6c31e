package podload

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck/retry"
)

// newRetryTransport returns base with retries (Spec.Retry): the retry
// package's Transport with the load's policy, sending every attempt
// through an attemptTransport that records it in the request's attemptLog,
// and an Observer that writes the policy's reason on each retried attempt.
func newRetryTransport(base http.RoundTripper, timeout time.Duration) http.RoundTripper {
	return retry.New(attemptTransport{base: base}, retry.Options{
		MaxAttempts: RetryAttempts,
		BaseBackoff: RetryBaseBackoff,
		MaxBackoff:  RetryMaxBackoff,
		MaxElapsed:  timeout,
		Observer: func(ev retry.Event) {
			if ev.GiveUp != nil {
				return // the last attempt: the record's own fields
			}
			if lg, ok := ev.Request.Context().Value(attemptLogKey{}).(*attemptLog); ok {
				lg.setReason(ev.Attempt, ev.Reason.String())
			}
		},
	})
}

// attemptLogKey is the context key of a request's attemptLog.
type attemptLogKey struct{}

// attemptLog holds the attempts of one request, in order.
type attemptLog struct {
	mu sync.Mutex
	as []Attempt
}

func (l *attemptLog) add(a Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.as = append(l.as, a)
}

// setReason records why attempt n (from 1) was retried.
func (l *attemptLog) setReason(n int, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n >= 1 && n <= len(l.as) {
		l.as[n-1].Reason = reason
	}
}

// earlier returns every attempt but the last (whose outcome is the
// request's), nil when there was one attempt or none.
func (l *attemptLog) earlier() []Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.as) < 2 {
		return nil
	}
	return append([]Attempt(nil), l.as[:len(l.as)-1]...)
}

// attemptTransport sends one attempt and records it in the attemptLog of
// the request's context (when there is one): start, latency, status or
// error and its class, and the connection it went on.
type attemptTransport struct{ base http.RoundTripper }

// RoundTrip sends one attempt through the base transport.
func (t attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	lg, _ := req.Context().Value(attemptLogKey{}).(*attemptLog)
	if lg == nil {
		return t.base.RoundTrip(req)
	}
	a := Attempt{Start: time.Now()}
	var mu sync.Mutex
	tr := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		mu.Lock()
		defer mu.Unlock()
		a.Local, a.Reused, a.Conn = connOf(info)
	}}
	resp, err := t.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), tr)))
	mu.Lock()
	defer mu.Unlock()
	a.Latency = time.Since(a.Start)
	switch {
	case err != nil:
		a.Err, a.Class = err.Error(), Classify(err)
		var oe *net.OpError
		a.DialFail = errors.As(err, &oe) && oe.Op == "dial"
	default:
		a.Code, a.Pod = resp.StatusCode, resp.Header.Get(PodHeader)
		if a.Code >= 500 {
			a.Class = "http-5xx"
		}
	}
	lg.add(a)
	return resp, err
}

// CloseIdleConnections closes the base transport's idle connections.
func (t attemptTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
