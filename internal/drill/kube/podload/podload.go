// Package podload is the drill's load generator as it runs inside the
// cluster (`lameduck load`, in a pod of the lameduck image started by
// `lameduck drill --kube`): constant-rate HTTP requests to the Service's
// ClusterIP, so that traffic goes through kube-proxy's rules as any client's
// does (never `kubectl port-forward`, which tunnels to one pod). Every request
// becomes one JSON line on the output (the pod's log), which the drill
// streams back and decodes with Decode; the last line is the Summary.
//
// It depends on the standard library only, so the image stays small.
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
}

// Summary is the last output line.
type Summary struct {
	Sent   int64     `json:"sent"`
	OK     int64     `json:"ok"`
	Failed int64     `json:"failed"`
	Began  time.Time `json:"began"`
	Ended  time.Time `json:"ended"`
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
		d := &net.Dialer{Timeout: spec.Timeout, KeepAlive: 30 * time.Second}
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idConn{Conn: c, id: conns.Add(1)}, nil
		}
		clients = append(clients, &http.Client{
			Timeout: spec.Timeout,
			Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 64,
				IdleConnTimeout: 90 * time.Second, DisableCompression: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		})
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

// do sends one request.
func do(ctx context.Context, c *http.Client, spec Spec, seq uint64) Record {
	r := Record{Seq: seq, ID: spec.RunID + "-" + strconv.FormatUint(seq, 10), Start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, spec.Method, spec.URL, bytes.NewReader(spec.Body))
	if err != nil {
		r.Err, r.Class = err.Error(), "other"
		return r
	}
	req.Header.Set(RequestIDHeader, r.ID)
	var mu sync.Mutex
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		mu.Lock()
		defer mu.Unlock()
		r.Local = info.Conn.LocalAddr().String()
		r.Reused = info.Reused
		if c, ok := info.Conn.(*idConn); ok {
			r.Conn = c.id
		}
	}}
	resp, err := c.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
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
	return r
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
