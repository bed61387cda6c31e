package promlameduck

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
// handler=name, method and code. Put it inside the App's own middleware
// (which Serve adds around the server's handler), so a request is counted
// before Stopping considers it finished and the final scrape or push sees
// it:
//
//	app.Serve(&http.Server{Handler: m.InstrumentHandler("api", mux)})
//
// The wrapper keeps http.Flusher, http.Hijacker and the other optional
// interfaces of the ResponseWriter. Its cost per request is measured in
// bench/observability.md.
func (m *Metrics) InstrumentHandler(name string, h http.Handler) http.Handler {
	l := prometheus.Labels{"handler": name}
	return promhttp.InstrumentHandlerDuration(m.http.duration.MustCurryWith(l),
		promhttp.InstrumentHandlerCounter(m.http.requests.MustCurryWith(l), h))
}
