package promlameduck_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/promlameduck"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// nopWriter is a ResponseWriter that costs nothing, so that a benchmark
// measures the middleware.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello\n")) })

// stacks are the handler stacks compared by the benchmarks.
func stacks(b *testing.B) []struct {
	name string
	h    func(*lameduck.App) http.Handler
} {
	return []struct {
		name string
		h    func(*lameduck.App) http.Handler
	}{
		{"lameduck", func(*lameduck.App) http.Handler { return hello }},
		{"lameduck+metrics", func(app *lameduck.App) http.Handler {
			m, err := promlameduck.New(app, promlameduck.Options{Registerer: prometheus.NewRegistry(), NoAdmin: true, LookupEnv: lameduck.NoEnv, Logger: slogDiscard()})
			if err != nil {
				b.Fatal(err)
			}
			return m.InstrumentHandler("api", hello)
		}},
	}
}

// BenchmarkHandler is the per-request cost of the handler stack in memory:
// the App's middleware, with and without the HTTP metrics inside it.
// (Without a connection from an App listener, the App's middleware takes
// its slower, map-based path; both stacks pay it.)
func BenchmarkHandler(b *testing.B) {
	promhttpStack := struct {
		name string
		h    func(*lameduck.App) http.Handler
	}{"lameduck+promhttp", func(app *lameduck.App) http.Handler {
		// For reference: promhttp's instrumentation with the same labels.
		l := prometheus.Labels{"handler": "api"}
		reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "r"}, []string{"handler", "method", "code"})
		dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "d"}, []string{"handler", "method", "code"})
		return promhttp.InstrumentHandlerDuration(dur.MustCurryWith(l), promhttp.InstrumentHandlerCounter(reqs.MustCurryWith(l), hello))
	}}
	for _, s := range append(stacks(b), promhttpStack) {
		b.Run(s.name, func(b *testing.B) {
			app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv})
			h := app.Handler(s.h(app))
			w := &nopWriter{h: http.Header{}}
			r, _ := http.NewRequest("GET", "/hello", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkServe is the cost of a whole request over a loopback keep-alive
// connection to a running App, with and without the HTTP metrics.
func BenchmarkServe(b *testing.B) {
	for _, s := range stacks(b) {
		b.Run(s.name, func(b *testing.B) {
			app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv, DrainDelay: lameduck.NoDrainDelay,
				Logger: slogDiscard()})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			app.ServeListener(&http.Server{Handler: s.h(app)}, ln)
			done := make(chan int, 1)
			go func() { done <- app.Run() }()
			defer func() {
				app.Shutdown(nil)
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					b.Fatal("Run did not return")
				}
			}()
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			url := "http://" + ln.Addr().String() + "/hello"
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
