package drill

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/loadretry"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/retry"
)

// retryLog records every attempt of the load's requests when the load
// retries (--retry): the retry package's Transport sends through it, and
// it sends through the tracing transport, which records the connection of
// the attempt.
type retryLog struct {
	tr *tracingTransport

	mu       sync.Mutex
	attempts map[uint64][]attemptRec
	gaveUp   map[uint64]string // why the policy stopped retrying (loadretry.GaveUp)
}

type attemptRec struct {
	start, end time.Time
	local      string
	code       int
	err        error
	reason     string
}

// newRetryTransport returns the load's transport with retries: the
// drill's policy (loadretry: idempotent methods or an Idempotency-Key,
// connection lost before the first response byte, refused, 503 +
// Retry-After; full jitter; within the request timeout) on top of tr.
func newRetryTransport(tr *tracingTransport, timeout time.Duration) (http.RoundTripper, *retryLog) {
	lg := &retryLog{tr: tr, attempts: map[uint64][]attemptRec{}, gaveUp: map[uint64]string{}}
	rt := retry.New(lg, loadretry.Options(timeout, func(ev retry.Event) {
		seq := seqOf(ev.Request)
		lg.mu.Lock()
		defer lg.mu.Unlock()
		if ev.GiveUp != nil {
			lg.gaveUp[seq] = loadretry.GaveUp(ev.GiveUp)
			return
		}
		if a := lg.attempts[seq]; ev.Attempt <= len(a) {
			a[ev.Attempt-1].reason = ev.Reason.String()
		}
	}))
	return rt, lg
}

func seqOf(req *http.Request) uint64 {
	seq, _ := strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	return seq
}

// RoundTrip sends one attempt through the tracing transport and records it.
func (l *retryLog) RoundTrip(req *http.Request) (*http.Response, error) {
	seq := seqOf(req)
	a := attemptRec{start: time.Now()}
	resp, err := l.tr.RoundTrip(req)
	a.end, a.err = time.Now(), err
	if resp != nil {
		a.code = resp.StatusCode
	}
	l.tr.mu.Lock()
	if ci := l.tr.info[seq]; ci != nil {
		a.local = ci.local
	}
	l.tr.mu.Unlock()
	l.mu.Lock()
	l.attempts[seq] = append(l.attempts[seq], a)
	l.mu.Unlock()
	return resp, err
}

// CloseIdleConnections closes the clients' idle connections.
func (l *retryLog) CloseIdleConnections() {
	for _, c := range l.tr.clients {
		c.CloseIdleConnections()
	}
}

// attach fills Retried of every request that was sent more than once.
func (l *retryLog) attach(reqs []trace.Request, epoch time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range reqs {
		reqs[i].GaveUp = l.gaveUp[reqs[i].Seq]
		as := l.attempts[reqs[i].Seq]
		for _, a := range as[:max(len(as)-1, 0)] {
			q := request{Start: a.start, Latency: a.end.Sub(a.start), Code: a.code, errv: a.err, Local: a.local}
			if a.err != nil {
				q.Err = a.err.Error()
			}
			t := q.trace(epoch)
			reason := a.reason
			if reason == "" {
				reason = "unknown"
			}
			reqs[i].Retried = append(reqs[i].Retried, trace.Attempt{Start: t.Start, End: t.End, Code: t.Code, Error: t.Error,
				Transport: t.Transport, Local: t.Local, Reason: reason})
		}
	}
}
