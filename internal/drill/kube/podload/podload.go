// Package podload is the drill's load generator as it runs inside the
// cluster (`lameduck load`, in a pod of the lameduck image started by
// `lameduck drill --kube`): constant-rate HTTP requests to the Service's
// ClusterIP, so that traffic goes through kube-proxy's rules as any client's
// does (never `kubectl port-forward`, which tunnels to one pod). Every request
// becomes one JSON line on the output (the pod's log), which the drill
// streams back and decodes with Decode; the last line is the Summary.
//
// With Spec.Retry the load retries as the local drill's --retry does: every
// request carries its id as Idempotency-Key and goes through the retry
// package's Transport, and every failed attempt is kept in the request's
// record (Record.Attempts), so that the drill can tell a write lost from a
// write applied twice and from a request that failed for good.
//
// It depends on the standard library and the repository's retry package
// (itself standard library only), so the image stays small.
package podload

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/lameduck-dev/lameduck/retry"
)

// RequestIDHeader carries each request's unique id (as in the local drill).
const RequestIDHeader = "X-Request-Id"

// PodHeader is the answer header naming the pod that served it (optional:
// the demo services send it; any service may).
const PodHeader = "X-Lameduck-Pod"

// Spec is the load to send.
type Spec struct {
	URL      string        // http://CLUSTER-IP:PORT/path
	Method   string        // default POST
	Body     []byte        // request body
	Rate     int           // requests per second, > 0
	Duration time.Duration // how long to send, > 0
	Timeout  time.Duration // per request (default 2s)
	Clients  int           // independent keep-alive pools, requests spread round-robin (default 4)
	RunID    string        // prefix of the request ids
	// Retry sends each request's id as its Idempotency-Key and retries
	// with the drill's policy (loadretry, within Timeout); every failed
	// attempt is recorded (Record.Attempts).
	Retry bool
}

// Record is one request, as written on one output line.
type Record struct {
	Seq      uint64        `json:"seq"`
	ID       string        `json:"id"`
	Start    time.Time     `json:"start"`
	Latency  time.Duration `json:"latency"`
	Code     int           `json:"code,omitempty"`
	Err      string        `json:"err,omitempty"`
	Class    string        `json:"class,omitempty"` // refused, reset, timeout, eof, http-5xx, other
	Local    string        `json:"local,omitempty"`
	Reused   bool          `json:"reused,omitempty"`
	DialFail bool          `json:"dialFail,omitempty"`
	// Conn numbers the connection the request went on (from 1, in dial
	// order; 0 when it got none): the client sees only the ClusterIP, so
	// the connection is what ties a failure to the pod an earlier answer
	// on it named.
	Conn uint64 `json:"conn,omitempty"`
	// Pod is the answer's PodHeader ("" when there was no answer or the
	// service does not send it).
	Pod string `json:"pod,omitempty"`
	// Attempts are the earlier attempts of a request the load retried
	// (Spec.Retry), oldest first: each failed in a way the retry policy
	// retries. The fields above are the last attempt's (its connection,
	// answer or error), except Start and Latency, which span them all.
	// Absent from records of a load without retries.
	Attempts []Attempt `json:"attempts,omitempty"`
	// LastStart is when the last attempt of a retried request began (zero
	// without Attempts).
	LastStart time.Time `json:"lastStart,omitzero"`
	// GaveUp is why the policy stopped retrying a request whose last
	// attempt failed in a way it retries (trace.GaveUp*; "" otherwise).
	GaveUp string `json:"gaveUp,omitempty"`
}

// Attempt is one failed attempt of a retried request.
type Attempt struct {
	Start   time.Time     `json:"start"`
	Latency time.Duration `json:"latency"`
	Code    int           `json:"code,omitempty"`
	Err     string        `json:"err,omitempty"`
	Class   string        `json:"class,omitempty"` // as Record.Class
	Local   string        `json:"local,omitempty"`
	Reused  bool          `json:"reused,omitempty"`
	// DialFail: the attempt's dial failed (refused, reset while
	// connecting): it got no connection.
	DialFail bool `json:"dialFail,omitempty"`
	// Conn is the attempt's connection number (Record.Conn), 0 when it got
	// none: the drill ties the attempt to a pod by it.
	Conn uint64 `json:"conn,omitempty"`
	Pod  string `json:"pod,omitempty"`
	// Reason is the retry policy's reason for retrying: connection_lost,
	// unprocessed or retry_after (retry.Reason's names).
	Reason string `json:"reason,omitempty"`
}

// End is when the attempt's answer or error came.
func (a Attempt) End() time.Time { return a.Start.Add(a.Latency) }

// Summary is the last output line.
type Summary struct {
	Sent   int64     `json:"sent"`
	OK     int64     `json:"ok"`
	Failed int64     `json:"failed"`
	Began  time.Time `json:"began"`
	Ended  time.Time `json:"ended"`
	// Retried counts the requests sent more than once (Spec.Retry), Attempts
	// their failed attempts (the last attempts not included).
	Retried  int64 `json:"retried,omitempty"`
	Attempts int64 `json:"attempts,omitempty"`
}

// line is the JSON shape of an output line: exactly one field is set.
type line struct {
	Req     *Record  `json:"req,omitempty"`
	Summary *Summary `json:"summary,omitempty"`
}

// Run sends the load described by spec, writes a line per request to w as
// each completes and the Summary last. It returns when the duration is over
// and every request has ended (or ctx is done).
func Run(ctx context.Context, spec Spec, w io.Writer) (Summary, error) {
	if spec.Rate <= 0 || spec.Duration <= 0 {
		return Summary{}, fmt.Errorf("podload: rate and duration must be positive")
	}
	if spec.Method == "" {
		spec.Method = http.MethodPost
	}
	if spec.Timeout <= 0 {
		spec.Timeout = 2 * time.Second
	}
	if spec.Clients <= 0 {
		spec.Clients = 4
	}
	var clients []*http.Client
	var conns atomic.Uint64
	for range spec.Clients {
		d := &net.Dialer{Timeout: loadretry.DialTimeout(spec.Retry, spec.Timeout), KeepAlive: 30 * time.Second}
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idConn{Conn: c, id: conns.Add(1)}, nil
		}
		clients = append(clients, newClient(spec, &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 64,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true}))
	}
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	var (
		mu  sync.Mutex
		enc = json.NewEncoder(w)
		sum = Summary{Began: time.Now()}
		wg  sync.WaitGroup
	)
	emit := func(r Record) {
		mu.Lock()
		defer mu.Unlock()
		sum.Sent++
		if len(r.Attempts) > 0 {
			sum.Retried++
			sum.Attempts += int64(len(r.Attempts))
		}
		if r.Err == "" && r.Code >= 200 && r.Code < 400 {
			sum.OK++
		} else {
			sum.Failed++
		}
		_ = enc.Encode(line{Req: &r})
	}
	period := time.Second / time.Duration(spec.Rate)
	n := int(spec.Duration / period)
	timer := time.NewTimer(0)
	defer timer.Stop()
loop:
	for i := range n {
		if d := time.Until(sum.Began.Add(time.Duration(i) * period)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		seq := uint64(i + 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			emit(do(ctx, clients[i%len(clients)], spec, seq))
		}()
	}
	wg.Wait()
	sum.Ended = time.Now()
	mu.Lock()
	defer mu.Unlock()
	return sum, enc.Encode(line{Summary: &sum})
}

// newClient returns a client of the load sending through tr: with
// Spec.Retry through the retry Transport, whose time budget is the request
// timeout. That timeout is then the request context's (set by do), not the
// client's: http.Client enforces its Timeout around a RoundTripper other
// than *http.Transport with a goroutine and a timer per request.
func newClient(spec Spec, tr *http.Transport) *http.Client {
	c := &http.Client{
		Timeout:       spec.Timeout,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if spec.Retry {
		c.Timeout, c.Transport = 0, newRetryTransport(tr, spec.Timeout)
	}
	return c
}

// do sends one request with a client from newClient.
func do(ctx context.Context, c *http.Client, spec Spec, seq uint64) Record {
	r := Record{Seq: seq, ID: spec.RunID + "-" + strconv.FormatUint(seq, 10), Start: time.Now()}
	if spec.Retry {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, spec.Method, spec.URL, bytes.NewReader(spec.Body))
	if err != nil {
		r.Err, r.Class = err.Error(), "other"
		return r
	}
	req.Header.Set(RequestIDHeader, r.ID)
	var attempts *attemptLog
	if spec.Retry {
		// As the local drill: an sf-string, as the IETF draft has it.
		req.Header.Set(retry.HeaderKey, `"`+r.ID+`"`)
		attempts = &attemptLog{}
		req = req.WithContext(context.WithValue(req.Context(), attemptLogKey{}, attempts))
	}
	var mu sync.Mutex
	if attempts == nil {
		// With retries the attempts' own trace records the connection
		// (attemptTransport): a second GotConn hook would make net/http
		// compose the two by reflection on every connection.
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			mu.Lock()
			defer mu.Unlock()
			r.Local, r.Reused, r.Conn = connOf(info)
		}}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	}
	resp, err := c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		r.Code = resp.StatusCode
		r.Pod = resp.Header.Get(PodHeader)
	}
	mu.Lock()
	defer mu.Unlock()
	r.Latency = time.Since(r.Start)
	if err != nil {
		r.Err = err.Error()
		r.Class = Classify(err)
		var oe *net.OpError
		r.DialFail = errors.As(err, &oe) && oe.Op == "dial"
	} else if r.Code >= 500 {
		r.Class = "http-5xx"
	}
	if attempts != nil {
		attempts.finish(&r)
	}
	return r
}

// connOf returns the local address, reuse and number of a connection.
func connOf(info httptrace.GotConnInfo) (local string, reused bool, id uint64) {
	local = info.Conn.LocalAddr().String()
	if c, ok := info.Conn.(*idConn); ok {
		id = c.id
	}
	return local, info.Reused, id
}

// idConn is a connection numbered in dial order.
type idConn struct {
	net.Conn
	id uint64
}

// Classify names a transport error's class: refused, reset, timeout, eof or other.
func Classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}

// Decode reads the output of Run (a pod's log): the records, and the summary
// if the last line was written (nil when the load was cut short). Lines that
// are not the load's (anything not starting with '{') are ignored.
func Decode(r io.Reader) ([]Record, *Summary, error) {
	var recs []Record
	var sum *Summary
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if len(b) == 0 || b[0] != '{' {
			continue
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			return recs, sum, fmt.Errorf("load output line %d: %w", n, err)
		}
		switch {
		case l.Req != nil:
			recs = append(recs, *l.Req)
		case l.Summary != nil:
			sum = l.Summary
		}
	}
	return recs, sum, sc.Err()
}
