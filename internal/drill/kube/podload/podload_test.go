package podload

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/freeport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunRecordsEveryRequestAndTheSummary sends a short load to a real
// server that answers 200 to the first requests and 503 afterwards.
func TestRunRecordsEveryRequestAndTheSummary(t *testing.T) {
	var n atomic.Int64
	var ids atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(RequestIDHeader) != "" {
			ids.Add(1)
		}
		w.Header().Set(PodHeader, "pod-a")
		if n.Add(1) > 10 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	var out bytes.Buffer
	sum, err := Run(context.Background(), Spec{URL: "http://" + ln.Addr().String() + "/incr", Rate: 100, Duration: 200 * time.Millisecond, RunID: "t"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 20 || sum.OK != 10 || sum.Failed != 10 {
		t.Fatalf("summary %+v, want sent 20, ok 10, failed 10", sum)
	}
	if ids.Load() != 20 {
		t.Fatalf("%d requests carried %s, want 20", ids.Load(), RequestIDHeader)
	}
	recs, got, err := Decode(strings.NewReader("a log line that is not ours\n" + out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 20 || got == nil || got.Sent != sum.Sent || got.OK != sum.OK || !got.Began.Equal(sum.Began) || !got.Ended.Equal(sum.Ended) {
		t.Fatalf("decoded %d records, summary %+v; want 20 and %+v", len(recs), got, sum)
	}
	seen := map[string]bool{}
	conns := map[uint64]string{}
	for _, r := range recs {
		seen[r.ID] = true
		if r.Code == 503 && r.Class != "http-5xx" {
			t.Errorf("record %+v: a 503 is class http-5xx", r)
		}
		if r.Pod != "pod-a" || r.Conn == 0 || r.Local == "" {
			t.Errorf("record %+v: want pod pod-a (the %s header), a connection number and the local address", r, PodHeader)
		}
		if r.Reused && conns[r.Conn] != "" && conns[r.Conn] != r.Local {
			t.Errorf("connection %d reused with local address %s, first seen as %s", r.Conn, r.Local, conns[r.Conn])
		}
		conns[r.Conn] = r.Local
	}
	if len(seen) != 20 || !seen["t-1"] || !seen["t-20"] {
		t.Errorf("request ids %v, want t-1..t-20", seen)
	}
}

// TestRunClassifiesARefusedConnection sends to a port nobody listens on.
func TestRunClassifiesARefusedConnection(t *testing.T) {
	port, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := Run(context.Background(), Spec{URL: fmt.Sprintf("http://127.0.0.1:%d/", port), Rate: 50, Duration: 100 * time.Millisecond}, &out)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := Decode(&out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 5 || len(recs) != 5 {
		t.Fatalf("summary %+v with %d records, want 5 failed", sum, len(recs))
	}
	for _, r := range recs {
		if r.Class != "refused" || !r.DialFail {
			t.Errorf("record %+v: want class refused and dialFail", r)
		}
	}
}

func TestDecodeWithoutSummaryAndBadLine(t *testing.T) {
	recs, sum, err := Decode(strings.NewReader(`{"req":{"seq":1,"id":"x-1"}}` + "\n"))
	if err != nil || sum != nil || len(recs) != 1 {
		t.Fatalf("got %v %v %v; want one record, no summary", recs, sum, err)
	}
	if _, _, err := Decode(strings.NewReader("{not json\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("got %v, want an error naming line 1", err)
	}
}

func TestRunRejectsBadSpec(t *testing.T) {
	if _, err := Run(context.Background(), Spec{URL: "http://127.0.0.1:1/", Rate: 0, Duration: time.Second}, &bytes.Buffer{}); err == nil {
		t.Fatal("rate 0 accepted")
	}
}
