package retry_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/lameduck-dev/lameduck/retry"
)

// BenchmarkRoundTrip measures what the Transport adds to a request that
// succeeds at once (the common case): a bare http.Transport and the same
// wrapped by retry.New, against the same loopback server, one keep-alive
// connection, in the same run.
//
//	go test ./retry -run '^$' -bench RoundTrip -benchmem -count 6
func BenchmarkRoundTrip(b *testing.B) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	for _, m := range []struct{ name, method, body string }{{"GET", "GET", ""}, {"POST+key", "POST", `{"n":1}`}} {
		for _, v := range []struct {
			name string
			rt   func(http.RoundTripper) http.RoundTripper
		}{
			{"bare", func(rt http.RoundTripper) http.RoundTripper { return rt }},
			{"retry", func(rt http.RoundTripper) http.RoundTripper { return retry.New(rt, retry.Options{}) }},
		} {
			b.Run(m.name+"/"+v.name, func(b *testing.B) {
				base := &http.Transport{}
				defer base.CloseIdleConnections()
				rt := v.rt(base)
				key := retry.NewKey()
				b.ReportAllocs()
				for b.Loop() {
					var body io.Reader
					if m.body != "" {
						body = strings.NewReader(m.body)
					}
					req, _ := http.NewRequest(m.method, url, body)
					if m.method == "POST" {
						req.Header.Set(retry.HeaderKey, key)
					}
					resp, err := rt.RoundTrip(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
	}
}

// staticRT answers every request at once with a 200 and no body: the
// network taken out, to isolate the wrapper's own cost.
type staticRT struct{}

func (staticRT) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

// BenchmarkWrapperOnly is the Transport's own cost per successful request
// (a clone of the request, a ClientTrace and its context value), measured
// against an in-memory RoundTripper.
func BenchmarkWrapperOnly(b *testing.B) {
	req, _ := http.NewRequest("GET", "http://example.invalid/", nil)
	for _, v := range []struct {
		name string
		rt   http.RoundTripper
	}{{"bare", staticRT{}}, {"retry", retry.New(staticRT{}, retry.Options{})}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := v.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}
