package lameduck

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// nopWriter is a ResponseWriter that costs nothing, so the benchmark
// measures the middleware, not the writer.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

var hello = []byte("hello\n")

func bare(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(hello) }

// requestOnConn builds a request whose context chain is the one
// http.Server builds for a connection accepted by an App listener (Go 1.26
// server.go): base, ServerContextKey, ConnContext (the App's trackedConn),
// LocalAddrContextKey, the connection's cancel context, the request's.
func requestOnConn(b *testing.B) *http.Request {
	ctx := context.WithValue(context.Background(), http.ServerContextKey, &http.Server{})
	ctx = connContext(ctx, &trackedConn{})
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, nil)
	ctx, cancelConn := context.WithCancel(ctx)
	ctx, cancelReq := context.WithCancel(ctx)
	b.Cleanup(func() { cancelReq(); cancelConn() })
	return httptest.NewRequest("GET", "/", nil).WithContext(ctx)
}

// BenchmarkMiddleware compares a bare handler with the same handler behind
// App.Handler: the per-request cost of in-flight tracking while Serving.
func BenchmarkMiddleware(b *testing.B) {
	a := New(Options{Logger: discardLogger})
	wrapped := a.Handler(http.HandlerFunc(bare))
	cases := []struct {
		name string
		h    http.Handler
		req  func(*testing.B) *http.Request
	}{
		{"bare", http.HandlerFunc(bare), requestOnConn},
		{"lameduck", wrapped, requestOnConn},
		// A server the App does not run (no trackedConn): the map path.
		{"lameduck-foreign-server", wrapped, func(*testing.B) *http.Request { return httptest.NewRequest("GET", "/", nil) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := &nopWriter{h: http.Header{}}
			r := c.req(b)
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, r)
			}
		})
	}
	for _, c := range cases[:2] {
		b.Run(c.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &nopWriter{h: http.Header{}}
				r := c.req(b) // one connection per goroutine, as with keep-alive clients
				for pb.Next() {
					c.h.ServeHTTP(w, r)
				}
			})
		})
	}
}

// oneByteConn is a net.Conn whose Read returns one byte at once, so the
// benchmark measures the wrapper, not a socket.
type oneByteConn struct{ net.Conn }

func (oneByteConn) Read(p []byte) (int, error) { p[0] = 'G'; return 1, nil }

// BenchmarkConnPath compares what net/http does per keep-alive request on
// a bare connection (a read) with the same on an App connection: the read
// through trackedConn (noting a request that starts arriving between
// requests) and the ConnState hook's Active and Idle transitions.
func BenchmarkConnPath(b *testing.B) {
	a := New(Options{Logger: discardLogger})
	buf := make([]byte, 4096)
	b.Run("bare-read", func(b *testing.B) {
		var c net.Conn = oneByteConn{}
		b.ReportAllocs()
		for b.Loop() {
			_, _ = c.Read(buf)
		}
	})
	b.Run("lameduck-read+connstate", func(b *testing.B) {
		tc := &trackedConn{Conn: oneByteConn{}}
		var c net.Conn = tc
		b.ReportAllocs()
		for b.Loop() {
			_, _ = c.Read(buf)
			a.track.connState(tc, http.StateActive)
			a.track.connState(tc, http.StateIdle)
		}
	})
}
