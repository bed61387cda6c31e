package podload

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/loadretry"
	"github.com/lameduck-dev/lameduck/retry"
)

// newRetryTransport returns base with retries (Spec.Retry): the drill's
// policy (loadretry) within timeout, sending every attempt through an
// attemptTransport that records it in the request's attemptLog, and an
// Observer that writes the policy's reason on each retried attempt and
// why it gave up on the last.
func newRetryTransport(base http.RoundTripper, timeout time.Duration) http.RoundTripper {
	return retry.New(attemptTransport{base: base}, loadretry.Options(timeout, func(ev retry.Event) {
		lg, ok := ev.Request.Context().Value(attemptLogKey{}).(*attemptLog)
		if !ok {
			return
		}
		if ev.GiveUp != nil {
			lg.setGaveUp(loadretry.GaveUp(ev.GiveUp))
			return // the last attempt: the record's own fields
		}
		lg.setReason(ev.Attempt, ev.Reason.String())
	}))
}

// attemptLogKey is the context key of a request's attemptLog.
type attemptLogKey struct{}

// attemptLog holds the attempts of one request, in order.
type attemptLog struct {
	mu     sync.Mutex
	as     []Attempt
	gaveUp string
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

// setGaveUp records why the policy stopped retrying.
func (l *attemptLog) setGaveUp(why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gaveUp = why
}

// finish writes the attempts into the request's record: the last one's
// connection (Local, Reused, Conn; its outcome is the request's, which the
// caller recorded), and, when there were several, the earlier ones
// (Attempts) and when the last began (LastStart).
func (l *attemptLog) finish(r *Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.as)
	if n == 0 {
		return
	}
	last := l.as[n-1]
	r.Local, r.Reused, r.Conn, r.GaveUp = last.Local, last.Reused, last.Conn, l.gaveUp
	if n > 1 {
		r.Attempts = append([]Attempt(nil), l.as[:n-1]...)
		r.LastStart = last.Start
	}
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

// Flatten returns one record per attempt, for views by connection (which
// pod a connection reached, when it was cut): each earlier attempt of a
// retried request as a record of its own (the request's Seq and ID, the
// attempt's time, outcome and connection), then the request's own record
// for its last attempt: from LastStart, without Attempts. Records without
// attempts are returned as they are.
func Flatten(recs []Record) []Record {
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		if len(r.Attempts) == 0 {
			out = append(out, r)
			continue
		}
		for _, a := range r.Attempts {
			out = append(out, Record{Seq: r.Seq, ID: r.ID, Start: a.Start, Latency: a.Latency, Code: a.Code, Err: a.Err,
				Class: a.Class, Local: a.Local, Reused: a.Reused, DialFail: a.DialFail, Conn: a.Conn, Pod: a.Pod})
		}
		last := r
		last.Attempts, last.LastStart = nil, time.Time{}
		if !r.LastStart.IsZero() {
			end := r.Start.Add(r.Latency)
			last.Start, last.Latency = r.LastStart, end.Sub(r.LastStart)
		}
		out = append(out, last)
	}
	return out
}
