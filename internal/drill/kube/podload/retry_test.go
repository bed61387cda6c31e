package podload

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/drill/trace"
	"github.com/lameduck-dev/lameduck/retry"
)

// keyServer is a real HTTP server on loopback that records, per request
// id, the Idempotency-Key of every attempt that reached it, and lets the
// test decide each attempt's fate from how many times the id was seen.
type keyServer struct {
	t    *testing.T
	addr string
	srv  *http.Server

	mu   sync.Mutex
	keys map[string][]string // X-Request-Id -> Idempotency-Key of each attempt
}

// startKeyServer serves with handle(w, r, n), n the attempt number of the
// request's id (from 1).
func startKeyServer(t *testing.T, keepAlive bool, handle func(w http.ResponseWriter, r *http.Request, n int)) *keyServer {
	t.Helper()
	ks := &keyServer{t: t, keys: map[string][]string{}}
	ks.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		ks.mu.Lock()
		ks.keys[id] = append(ks.keys[id], r.Header.Get(retry.HeaderKey))
		n := len(ks.keys[id])
		ks.mu.Unlock()
		handle(w, r, n)
	})}
	ks.srv.SetKeepAlivesEnabled(keepAlive)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ks.addr = ln.Addr().String()
	go ks.srv.Serve(ln)
	t.Cleanup(func() { ks.srv.Close() })
	return ks
}

// reset closes the request's connection with SO_LINGER 0 before any byte
// of the answer: the client reads ECONNRESET.
func reset(t *testing.T, w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if err := c.(*net.TCPConn).SetLinger(0); err != nil {
		t.Errorf("SO_LINGER 0: %v", err)
	}
	c.Close()
}

// checkKeys asserts that every attempt of every record reached the server
// with the same Idempotency-Key, the record's id as an sf-string, and
// that the server saw as many attempts as the record holds.
func (ks *keyServer) checkKeys(recs []Record) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if len(ks.keys) != len(recs) {
		ks.t.Errorf("the server saw %d request ids, the load recorded %d", len(ks.keys), len(recs))
	}
	for _, r := range recs {
		keys := ks.keys[r.ID]
		if len(keys) != len(r.Attempts)+1 {
			ks.t.Errorf("%s: the server saw %d attempts, the record holds %d earlier attempts + the last", r.ID, len(keys), len(r.Attempts))
		}
		for i, k := range keys {
			if k != `"`+r.ID+`"` {
				ks.t.Errorf("%s attempt %d: Idempotency-Key %q, want the request id %q as an sf-string", r.ID, i+1, k, `"`+r.ID+`"`)
			}
		}
	}
}

func runLoad(t *testing.T, spec Spec) (Summary, []Record) {
	t.Helper()
	var out bytes.Buffer
	sum, err := Run(context.Background(), spec, &out)
	if err != nil {
		t.Fatal(err)
	}
	recs, got, err := Decode(&out)
	if err != nil || got == nil {
		t.Fatalf("decode: %v, summary %v", err, got)
	}
	if got.Retried != sum.Retried || got.Attempts != sum.Attempts || int64(len(recs)) != sum.Sent {
		t.Fatalf("decoded summary %+v with %d records, want %+v", *got, len(recs), sum)
	}
	return sum, recs
}

// TestRetryAfterAReset: the server resets each request's first attempt
// (SO_LINGER 0, before any response byte) and answers the second. Every
// request succeeds after one recorded attempt of class reset, reason
// connection_lost, on a numbered connection of its own.
func TestRetryAfterAReset(t *testing.T) {
	ks := startKeyServer(t, false, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			reset(t, w)
			return
		}
		w.Header().Set(PodHeader, "pod-b")
	})
	sum, recs := runLoad(t, Spec{URL: "http://" + ks.addr + "/incr", Rate: 50, Duration: 200 * time.Millisecond,
		Timeout: 5 * time.Second, RunID: "rr", Retry: true})
	if sum.Sent != 10 || sum.OK != 10 || sum.Retried != 10 || sum.Attempts != 10 {
		t.Fatalf("summary %+v, want 10 sent, 10 ok, 10 retried with 10 failed attempts", sum)
	}
	ks.checkKeys(recs)
	for _, r := range recs {
		if r.Code != 200 || r.Err != "" || r.Pod != "pod-b" || len(r.Attempts) != 1 {
			t.Errorf("record %+v: want 200 from pod-b after one failed attempt", r)
			continue
		}
		a := r.Attempts[0]
		if a.Class != "reset" || a.Reason != "connection_lost" || a.Code != 0 || a.Pod != "" ||
			!strings.Contains(a.Err, "connection reset") || a.DialFail {
			t.Errorf("%s attempt %+v: want class reset, reason connection_lost, no answer", r.ID, a)
		}
		if a.Conn == 0 || a.Local == "" || a.Conn == r.Conn || a.Local == r.Local {
			t.Errorf("%s: attempt on connection %d (%s), last on %d (%s): want two numbered connections (keep-alive is off)",
				r.ID, a.Conn, a.Local, r.Conn, r.Local)
		}
		if a.Start.Before(r.Start) || r.LastStart.Before(a.End()) || r.LastStart.After(r.Start.Add(r.Latency)) {
			t.Errorf("%s: attempt %v..%v, last attempt from %v, request %v..%v: want them in order within the request",
				r.ID, a.Start, a.End(), r.LastStart, r.Start, r.Start.Add(r.Latency))
		}
	}
}

// TestRetryAfter503: the server answers each request's first attempt 503 +
// Retry-After: 1 (naming its pod), the second 200. The recorded attempt
// has the code, the pod and reason retry_after, and the retry came at least
// the second the server asked for after it.
func TestRetryAfter503(t *testing.T) {
	ks := startKeyServer(t, true, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set(PodHeader, "pod-a")
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		}
	})
	sum, recs := runLoad(t, Spec{URL: "http://" + ks.addr + "/incr", Rate: 50, Duration: 100 * time.Millisecond,
		Timeout: 5 * time.Second, RunID: "ra", Retry: true})
	if sum.Sent != 5 || sum.OK != 5 || sum.Retried != 5 || sum.Attempts != 5 {
		t.Fatalf("summary %+v, want 5 sent, 5 ok, 5 retried with 5 failed attempts", sum)
	}
	ks.checkKeys(recs)
	for _, r := range recs {
		if r.Code != 200 || len(r.Attempts) != 1 {
			t.Errorf("record %+v: want 200 after one failed attempt", r)
			continue
		}
		a := r.Attempts[0]
		if a.Code != 503 || a.Class != "http-5xx" || a.Reason != "retry_after" || a.Pod != "pod-a" || a.Err != "" || a.Conn == 0 || a.Local == "" {
			t.Errorf("%s attempt %+v: want 503, http-5xx, retry_after, pod-a, a numbered connection", r.ID, a)
		}
		if last := r.Start.Add(r.Latency); last.Sub(a.End()) < time.Second {
			t.Errorf("%s: the retry ended %v after the 503, want at least the Retry-After's 1s", r.ID, last.Sub(a.End()))
		}
	}
}

// TestRetryFailsForGood: a server that resets every attempt. Each request
// fails after several recorded attempts within its timeout, and the
// policy gave up on the time budget, not on a count; the record holds the
// last attempt's reset.
func TestRetryFailsForGood(t *testing.T) {
	ks := startKeyServer(t, false, func(w http.ResponseWriter, r *http.Request, n int) { reset(t, w) })
	sum, recs := runLoad(t, Spec{URL: "http://" + ks.addr + "/incr", Rate: 20, Duration: 100 * time.Millisecond,
		Timeout: 600 * time.Millisecond, RunID: "rf", Retry: true})
	if sum.Sent != 2 || sum.Failed != 2 || sum.Retried != 2 {
		t.Fatalf("summary %+v, want 2 sent, 2 failed, both retried", sum)
	}
	ks.checkKeys(recs)
	for _, r := range recs {
		if r.Class != "reset" || r.Conn == 0 || len(r.Attempts) < 1 || r.GaveUp != trace.GaveUpBudget {
			t.Errorf("record %+v: want a reset after earlier attempts, given up on the time budget", r)
		}
		for i, a := range r.Attempts {
			if a.Class != "reset" || a.Reason != "connection_lost" {
				t.Errorf("%s attempt %d %+v: want reset, connection_lost", r.ID, i+1, a)
			}
		}
	}
}

// TestNoRetryNoKey: without Spec.Retry a request carries no
// Idempotency-Key, is sent once and its record holds no attempts.
func TestNoRetryNoKey(t *testing.T) {
	ks := startKeyServer(t, true, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	sum, recs := runLoad(t, Spec{URL: "http://" + ks.addr + "/incr", Rate: 50, Duration: 100 * time.Millisecond, RunID: "nr"})
	if sum.Failed != 5 || sum.Retried != 0 || sum.Attempts != 0 {
		t.Fatalf("summary %+v, want 5 failed, none retried", sum)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, r := range recs {
		if keys := ks.keys[r.ID]; len(keys) != 1 || keys[0] != "" || r.Attempts != nil {
			t.Errorf("%s: keys %q, attempts %v; want one attempt without Idempotency-Key", r.ID, keys, r.Attempts)
		}
	}
}

// TestDecodeAttemptsAndOldRecords: a record with attempts decodes with
// every field; a record written before attempts existed (no "attempts",
// no summary counts) still decodes.
func TestDecodeAttemptsAndOldRecords(t *testing.T) {
	log := `{"req":{"seq":1,"id":"kd1-1","start":"2026-12-01T10:00:00.1Z","latency":1200000000,"code":200,"local":"10.244.0.9:40002","conn":2,"pod":"web-b",` +
		`"attempts":[{"start":"2026-12-01T10:00:00.1Z","latency":3000000,"err":"read tcp 10.244.0.9:40001->10.96.0.20:8080: read: connection reset by peer","class":"reset","local":"10.244.0.9:40001","reused":true,"conn":1,"reason":"connection_lost"},` +
		`{"start":"2026-12-01T10:00:00.2Z","latency":1000000,"code":503,"class":"http-5xx","local":"10.244.0.9:40002","conn":2,"pod":"web-b","reason":"retry_after"}],"lastStart":"2026-12-01T10:00:01.2Z"}}
{"req":{"seq":2,"id":"kd1-2","start":"2026-12-01T10:00:00.11Z","latency":2000000,"code":200,"local":"10.244.0.9:40000","reused":true,"conn":3,"pod":"web-a"}}
{"summary":{"sent":2,"ok":2,"failed":0,"began":"2026-12-01T10:00:00Z","ended":"2026-12-01T10:00:02Z","retried":1,"attempts":2}}
`
	recs, sum, err := Decode(strings.NewReader(log))
	if err != nil || len(recs) != 2 || sum == nil || sum.Retried != 1 || sum.Attempts != 2 {
		t.Fatalf("decode: %v, %d records, summary %+v", err, len(recs), sum)
	}
	as := recs[0].Attempts
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 100e6, time.UTC)
	want := []Attempt{
		{Start: t0, Latency: 3 * time.Millisecond, Err: "read tcp 10.244.0.9:40001->10.96.0.20:8080: read: connection reset by peer",
			Class: "reset", Local: "10.244.0.9:40001", Reused: true, Conn: 1, Reason: "connection_lost"},
		{Start: t0.Add(100 * time.Millisecond), Latency: time.Millisecond, Code: 503, Class: "http-5xx", Local: "10.244.0.9:40002", Conn: 2, Pod: "web-b", Reason: "retry_after"},
	}
	if len(as) != len(want) {
		t.Fatalf("attempts %+v, want %+v", as, want)
	}
	for i := range want {
		if !as[i].Start.Equal(want[i].Start) {
			t.Errorf("attempt %d start %v, want %v", i+1, as[i].Start, want[i].Start)
		}
		as[i].Start = want[i].Start
		if as[i] != want[i] {
			t.Errorf("attempt %d %+v, want %+v", i+1, as[i], want[i])
		}
	}
	if !recs[0].LastStart.Equal(t0.Add(1100 * time.Millisecond)) {
		t.Errorf("lastStart %v", recs[0].LastStart)
	}
	if recs[1].Attempts != nil || !recs[1].LastStart.IsZero() || recs[1].Pod != "web-a" || recs[1].Conn != 3 {
		t.Errorf("record without attempts: %+v", recs[1])
	}

	// The format before --retry: no attempts, no summary counts.
	old := `{"req":{"seq":1,"id":"kd0-1","start":"2026-11-20T10:00:00Z","latency":2000000,"err":"Post \"http://10.96.0.20:8080/incr\": EOF","class":"eof","local":"10.244.0.9:40000","reused":true,"conn":1}}
{"summary":{"sent":1,"ok":0,"failed":1,"began":"2026-11-20T10:00:00Z","ended":"2026-11-20T10:00:01Z"}}
`
	recs, sum, err = Decode(strings.NewReader(old))
	if err != nil || len(recs) != 1 || sum == nil || sum.Failed != 1 || sum.Retried != 0 || recs[0].Attempts != nil ||
		recs[0].Class != "eof" || recs[0].Conn != 1 || !recs[0].Reused {
		t.Fatalf("old format: %v, %+v, %+v", err, recs, sum)
	}
}

// TestFlatten: a retried request becomes one record per attempt, the last
// from LastStart to the request's end; other records are unchanged.
func TestFlatten(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := Attempt{Start: t0, Latency: time.Millisecond, Err: "reset", Class: "reset", Local: "l:1", Reused: true, Conn: 1, Pod: "", Reason: "connection_lost"}
	b := Attempt{Start: t0.Add(100 * time.Millisecond), Latency: time.Millisecond, Code: 503, Class: "http-5xx", Local: "l:2", Conn: 2, Pod: "web-b", Reason: "retry_after"}
	plain := Record{Seq: 1, ID: "x-1", Start: t0, Latency: time.Millisecond, Code: 200, Local: "l:3", Conn: 3, Pod: "web-a"}
	retried := Record{Seq: 2, ID: "x-2", Start: t0, Latency: 1500 * time.Millisecond, Code: 200, Local: "l:2", Reused: true, Conn: 2, Pod: "web-b",
		Attempts: []Attempt{a, b}, LastStart: t0.Add(1200 * time.Millisecond)}
	got := Flatten([]Record{plain, retried})
	want := []Record{
		plain,
		{Seq: 2, ID: "x-2", Start: a.Start, Latency: a.Latency, Err: "reset", Class: "reset", Local: "l:1", Reused: true, Conn: 1},
		{Seq: 2, ID: "x-2", Start: b.Start, Latency: b.Latency, Code: 503, Class: "http-5xx", Local: "l:2", Conn: 2, Pod: "web-b"},
		{Seq: 2, ID: "x-2", Start: t0.Add(1200 * time.Millisecond), Latency: 300 * time.Millisecond, Code: 200, Local: "l:2", Reused: true, Conn: 2, Pod: "web-b"},
	}
	if len(got) != len(want) {
		t.Fatalf("Flatten: %d records, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Latency != want[i].Latency || got[i].Code != want[i].Code || got[i].Err != want[i].Err ||
			got[i].Class != want[i].Class || got[i].Local != want[i].Local || got[i].Reused != want[i].Reused || got[i].Conn != want[i].Conn ||
			got[i].Pod != want[i].Pod || got[i].Seq != want[i].Seq || got[i].ID != want[i].ID || got[i].Attempts != nil || !got[i].LastStart.IsZero() {
			t.Errorf("record %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestRetryTimeout: with Spec.Retry the request timeout still holds (it is
// the request context's then) and a timeout is not retried: it is the
// request's outcome, class timeout, without attempts.
func TestRetryTimeout(t *testing.T) {
	ks := startKeyServer(t, true, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	sum, recs := runLoad(t, Spec{URL: "http://" + ks.addr + "/incr", Rate: 20, Duration: 100 * time.Millisecond,
		Timeout: 300 * time.Millisecond, RunID: "rt", Retry: true})
	if sum.Sent != 2 || sum.Failed != 2 || sum.Retried != 0 {
		t.Fatalf("summary %+v, want 2 sent, 2 failed, none retried", sum)
	}
	ks.checkKeys(recs)
	for _, r := range recs {
		if r.Class != "timeout" || r.Attempts != nil || r.Latency >= 5*time.Second || r.Conn == 0 {
			t.Errorf("record %+v: want a timeout after the 300ms request timeout, no attempts, its connection", r)
		}
	}
}
