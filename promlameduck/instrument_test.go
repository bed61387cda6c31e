package promlameduck_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/promlameduck"
	"github.com/prometheus/client_golang/prometheus"
)

// TestInstrumentHandler serves real requests through the wrapper and
// checks the recorded codes and that the optional interfaces still work.
func TestInstrumentHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv})
	m, err := promlameduck.New(app, promlameduck.Options{Registerer: reg, NoAdmin: true, LookupEnv: lameduck.NoEnv})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the wrapper: %v", err)
		}
		w.(http.Flusher).Flush()
	})
	mux.HandleFunc("/copy", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("the wrapper hides io.ReaderFrom")
		}
		_, _ = io.Copy(w, strings.NewReader("copied"))
	})
	mux.HandleFunc("/upgrade", func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack through the wrapper: %v", err)
			return
		}
		defer c.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
		_ = rw.Flush()
	})
	mux.HandleFunc("/missing", http.NotFound)
	srv := httptest.NewServer(m.InstrumentHandler("api", mux))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	do := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	do("GET", "/empty")
	do("POST", "/early-hints")
	do("GET", "/flush")
	do("GET", "/copy")
	do("GET", "/missing")
	do("BREW", "/empty")
	do("brew", "/empty")

	// The upgrade over a raw connection: the handler hijacks it.
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
	status, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || !strings.Contains(status, "101") {
		t.Fatalf("upgrade: %q, %v", status, err)
	}

	want := map[string]float64{
		`code="101",handler="api",method="get"`:     1,
		`code="200",handler="api",method="get"`:     3,
		`code="201",handler="api",method="post"`:    1,
		`code="404",handler="api",method="get"`:     1,
		`code="200",handler="api",method="unknown"`: 2,
	}
	// The upgrade's count lands when its handler returns, after the client
	// read the 101; wait for it within the test's bounds.
	var got map[string]float64
	for range 200 {
		if got = series(t, reg, "http_requests_total"); equal(got, want) {
			break
		}
		<-time.After(5 * time.Millisecond)
	}
	if !equal(got, want) {
		t.Errorf("http_requests_total:\n got %v\nwant %v", got, want)
	}
	if n := len(series(t, reg, "http_request_duration_seconds")); n != len(want) {
		t.Errorf("%d duration series, want %d", n, len(want))
	}
}

// series returns the values (counts for histograms) of family name by
// label string.
func series(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(ls, ",")] = v
		}
	}
	return out
}

func equal(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
