package drill

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/loadretry"
	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/retry"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"google.golang.org/grpc/codes"
)

// RequestIDHeader carries the unique id of each drill request.
const RequestIDHeader = "X-Request-Id"

// request is what the drill knows about one request.
type request struct {
	Seq        uint64
	ID         string
	Start      time.Time
	Latency    time.Duration
	Code       int
	Err        string
	errv       error      // typed transport error, when the transport returned one
	Local      string     // client's local address of the connection used
	Reused     bool       // keep-alive connection reused
	DialFail   bool       // the connection could not be established
	Unfinished bool       // no result when the drill stopped waiting
	GRPC       bool       // a gRPC call (--protocol grpc)
	Status     codes.Code // its gRPC status, when it failed
}

// connInfo is recorded by the tracing transport, keyed by vegeta's sequence.
type connInfo struct {
	id     string
	start  time.Time
	local  string
	reused bool
	err    error
}

// tracingTransport records, per request, which connection carried it. It
// spreads requests round-robin over several independent clients (each with
// its own keep-alive pool), as a service sees many clients, not one.
type tracingTransport struct {
	clients []*http.Transport
	mu      sync.Mutex
	info    map[uint64]*connInfo
}

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	seq, _ := strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	ci := &connInfo{id: req.Header.Get(RequestIDHeader), start: time.Now()}
	t.mu.Lock()
	t.info[seq] = ci
	t.mu.Unlock()
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		t.mu.Lock()
		ci.local = info.Conn.LocalAddr().String()
		ci.reused = info.Reused
		t.mu.Unlock()
	}}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := t.clients[seq%uint64(len(t.clients))].RoundTrip(req)
	if err != nil {
		t.mu.Lock()
		ci.err = err
		t.mu.Unlock()
	}
	return resp, err
}

// loadSpec is the load of one drill.
type loadSpec struct {
	URL  string // http://host:port/path; host:port for gRPC
	Path string // gRPC: the full method name
	// GRPCRetry retries UNAVAILABLE gRPC calls (grpcRetryConfig).
	GRPCRetry bool
	Method    string
	Body      []byte
	Header    http.Header
	Rate      int
	Timeout   time.Duration
	Workers   int
	Clients   int
	RunID     string
	// Retry sends the request id as Idempotency-Key and retries with the
	// retry package's policy (retryload.go).
	Retry bool
}

// load is a running constant-rate attack, HTTP (vegeta's attacker) or
// gRPC (startGRPCLoad).
type load struct {
	tr      *tracingTransport
	results <-chan *vegeta.Result
	began   time.Time

	retries    *retryLog // --retry: every attempt; nil without
	halt       func()    // stops sending
	closeConns func()    // closes the connections once the requests are over

	sent   atomic.Int64
	ok     atomic.Int64
	failed atomic.Int64

	mu   sync.Mutex
	reqs []request
	done chan struct{}
}

func startLoad(spec loadSpec) *load {
	workers := max(spec.Workers, 1)
	tr := &tracingTransport{info: make(map[uint64]*connInfo)}
	for range max(spec.Clients, 1) {
		dialer := &net.Dialer{Timeout: loadretry.DialTimeout(spec.Retry, spec.Timeout), KeepAlive: 30 * time.Second}
		tr.clients = append(tr.clients, &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConns:        workers,
			MaxIdleConnsPerHost: workers, // >= MaxWorkers, or connections churn
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		})
	}
	var rt http.RoundTripper = tr
	var retries *retryLog
	if spec.Retry {
		rt, retries = newRetryTransport(tr, spec.Timeout)
	}
	client := &http.Client{Transport: rt, Timeout: spec.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	atk := vegeta.NewAttacker(
		vegeta.Client(client),
		vegeta.Workers(uint64(min(workers, 16))),
		vegeta.MaxWorkers(uint64(workers)),
		vegeta.MaxBody(4096),
	)
	var n atomic.Uint64
	targeter := func(t *vegeta.Target) error {
		id := spec.RunID + "-" + strconv.FormatUint(n.Add(1), 10)
		t.Method = spec.Method
		t.URL = spec.URL
		t.Body = spec.Body
		t.Header = spec.Header.Clone()
		if t.Header == nil {
			t.Header = http.Header{}
		}
		t.Header.Set(RequestIDHeader, id)
		if spec.Retry {
			t.Header.Set(retry.HeaderKey, `"`+id+`"`) // an sf-string, as the draft says
		}
		return nil
	}
	l := &load{tr: tr, retries: retries, done: make(chan struct{}), began: time.Now(), halt: func() { atk.Stop() },
		closeConns: func() {
			for _, c := range tr.clients {
				c.CloseIdleConnections()
			}
		}}
	l.results = atk.Attack(targeter, vegeta.ConstantPacer{Freq: spec.Rate, Per: time.Second}, 0, "drill")
	go l.collect()
	return l
}

func (l *load) collect() {
	defer close(l.done)
	for r := range l.results {
		req := request{Seq: r.Seq, Start: r.Timestamp, Latency: r.Latency, Code: int(r.Code), Err: r.Error}
		l.tr.mu.Lock()
		if ci := l.tr.info[r.Seq]; ci != nil {
			req.ID, req.Local, req.Reused, req.errv = ci.id, ci.local, ci.reused, ci.err
			delete(l.tr.info, r.Seq)
		}
		l.tr.mu.Unlock()
		var oe *net.OpError
		if req.errv != nil && errors.As(req.errv, &oe) && oe.Op == "dial" {
			req.DialFail = true
		}
		l.record(req)
	}
}

// stop ends the attack, waits for the requests in flight (bounded by the
// request timeout) and returns every request.
func (l *load) stop(ctx context.Context) []request {
	l.halt()
	select {
	case <-l.done:
	case <-ctx.Done():
	}
	l.closeConns()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]request(nil), l.reqs...)
	if l.tr != nil {
		// Requests sent but without a result: cut by the drill's own
		// end-of-run teardown.
		l.tr.mu.Lock()
		for seq, ci := range l.tr.info {
			out = append(out, request{Seq: seq, ID: ci.id, Start: ci.start, Local: ci.local, Reused: ci.reused, Unfinished: true})
		}
		l.tr.mu.Unlock()
	}
	return out
}

// trace converts q for the trace, naming what its typed error said.
func (q request) trace(epoch time.Time) trace.Request {
	t := trace.Request{Seq: q.Seq, ID: q.ID, Start: q.Start.Sub(epoch), Code: q.Code, Error: q.Err,
		Local: q.Local, Reused: q.Reused, DialFail: q.DialFail, Unfinished: q.Unfinished}
	if !q.Unfinished {
		t.End = t.Start + q.Latency
	}
	if q.GRPC {
		t.GRPCCode = q.Status.String()
		t.Code = 0
	}
	var errno syscall.Errno
	var ne net.Error
	switch {
	case q.errv == nil:
	case errors.As(q.errv, &errno) && errno == syscall.ECONNREFUSED:
		t.Transport = trace.TransportRefused
	case errors.As(q.errv, &errno) && (errno == syscall.ECONNRESET || errno == syscall.EPIPE):
		t.Transport = trace.TransportReset
	case errors.Is(q.errv, io.EOF) || errors.Is(q.errv, io.ErrUnexpectedEOF):
		t.Transport = trace.TransportEOF
	case errors.As(q.errv, &ne) && ne.Timeout():
		t.Transport = trace.TransportTimeout
	}
	return t
}
