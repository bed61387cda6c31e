package promlameduck

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the standard HTTP server metrics.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(buckets []float64) *httpMetrics {
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by handler, method and status code.",
		}, []string{"handler", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by handler, method and status code.",
			Buckets: buckets,
		}, []string{"handler", "method", "code"}),
	}
}

// InstrumentHandler wraps h with the standard HTTP server metrics,
// http_requests_total and http_request_duration_seconds, labelled with
// handler=name, the method (lower case, "unknown" for non-standard ones)
// and the status code, as promhttp labels them. Put it inside the App's own
// middleware (which Serve adds around the server's handler), so that a
// request is counted before Stopping considers it finished and the final
// scrape or push includes it:
//
//	app.Serve(&http.Server{Handler: m.InstrumentHandler("api", mux)})
//
// The ResponseWriter it passes on implements http.Flusher, http.Hijacker
// and io.ReaderFrom (each delegating, or answering http.ErrNotSupported
// when the underlying writer lacks it) and Unwrap for
// http.ResponseController. A hijacked request (a WebSocket) is counted with
// code 101 unless the handler wrote a status first. A request whose
// handler panics is not counted.
//
// The cost per request is one small allocation and a few atomic
// operations: the labelled series are looked up once per method and code
// and cached (see bench/observability.md).
func (m *Metrics) InstrumentHandler(name string, h http.Handler) http.Handler {
	l := prometheus.Labels{"handler": name}
	return &instrumented{next: h, requests: m.http.requests.MustCurryWith(l), duration: m.http.duration.MustCurryWith(l)}
}

// instrumented is the handler InstrumentHandler returns.
type instrumented struct {
	next     http.Handler
	requests *prometheus.CounterVec
	duration prometheus.ObserverVec

	cells atomic.Pointer[map[uint32]*cell] // copy on write
	mu    sync.Mutex                       // serializes writers of cells
}

// cell holds the series of one method and code.
type cell struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (in *instrumented) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	in.next.ServeHTTP(rec, r)
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	c := in.cell(r.Method, code)
	c.requests.Inc()
	c.duration.Observe(time.Since(start).Seconds())
}

// methods are the methods with their own label value; the others are
// labelled "unknown", so clients cannot grow the series without bound.
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

func methodIndex(m string) uint32 {
	for i, k := range methods {
		if m == k {
			return uint32(i)
		}
	}
	return uint32(len(methods))
}

func (in *instrumented) cell(method string, code int) *cell {
	key := methodIndex(method)<<16 | uint32(code)&0xffff
	if code < 0 || code > 0xffff {
		key = methodIndex(method)<<16 | 0xffff
	}
	if p := in.cells.Load(); p != nil {
		if c, ok := (*p)[key]; ok {
			return c
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	old := in.cells.Load()
	if old != nil {
		if c, ok := (*old)[key]; ok {
			return c
		}
	}
	ml := "unknown"
	if i := key >> 16; int(i) < len(methods) {
		ml = lower[i]
	}
	cl := strconv.Itoa(code)
	c := &cell{requests: in.requests.WithLabelValues(ml, cl), duration: in.duration.WithLabelValues(ml, cl)}
	next := make(map[uint32]*cell, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[key] = c
	in.cells.Store(&next)
	return c
}

var lower = func() (l [len(methods)]string) {
	for i, m := range methods {
		b := []byte(m)
		for j := range b {
			b[j] += 'a' - 'A'
		}
		l[i] = string(b)
	}
	return l
}()

// recorder records the status code a handler sends.
type recorder struct {
	http.ResponseWriter
	code int // 0 until the final status is known
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.code = code // 1xx other than 101 are informational: the final status comes later
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush implements http.Flusher.
func (r *recorder) Flush() {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("promlameduck: %T cannot hijack: %w", r.ResponseWriter, http.ErrNotSupported)
	}
	c, rw, err := h.Hijack()
	if err == nil && r.code == 0 {
		r.code = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// ReadFrom implements io.ReaderFrom, keeping sendfile for io.Copy.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{r.ResponseWriter}, src)
}

// writerOnly hides ReadFrom, so io.Copy does not loop back to recorder.
type writerOnly struct{ io.Writer }

var (
	_ http.Flusher  = (*recorder)(nil)
	_ http.Hijacker = (*recorder)(nil)
	_ io.ReaderFrom = (*recorder)(nil)
)
