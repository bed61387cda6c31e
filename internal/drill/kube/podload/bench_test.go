package podload

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// BenchmarkRequest: one request of the load (do), plain and with Spec.Retry
// (the Idempotency-Key, the retry Transport, the attempt's recording), to
// a loopback keep-alive server that answers at once: the success path's
// price of --retry. bench/loadretry.sh measures the whole load process.
func BenchmarkRequest(b *testing.B) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello\n")) })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	for _, retry := range []bool{false, true} {
		name := "plain"
		if retry {
			name = "retry"
		}
		b.Run(name, func(b *testing.B) {
			spec := Spec{URL: "http://" + ln.Addr().String() + "/", Method: http.MethodGet, Timeout: 5 * time.Second, RunID: "b", Retry: retry}
			c := newClient(spec, &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true})
			defer c.CloseIdleConnections()
			b.ReportAllocs()
			var seq uint64
			for b.Loop() {
				seq++
				if r := do(context.Background(), c, spec, seq); r.Code != 200 {
					b.Fatalf("%+v", r)
				}
			}
		})
	}
}
