package retry_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/retry"
)

// Both halves of lameduck together. Replica A is a lameduck App; a long
// request keeps it in Stopping. A connection the client opened before the
// shutdown (as a load balancer's pooled or in-transit connection would be)
// sends its first request after Stopping began: the App answers 503 +
// Retry-After: 1 + Connection: close. The Transport waits and retries; the
// new connection goes where the balancer now points, replica B, which
// answers. A's long request still finishes.
func TestStoppingReplicaRefusalRetriedElsewhere(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "A slow")
	})
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "A") })
	accepted := make(chan struct{}, 4)
	srvA := &http.Server{Handler: mux, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted <- struct{}{}
		}
	}}
	app := lameduck.New(lameduck.Options{
		LookupEnv: lameduck.NoEnv, DrainDelay: lameduck.NoDrainDelay,
		Logger: slog.New(slog.DiscardHandler),
	})
	lnA, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app.ServeListener(srvA, lnA)
	code := make(chan int, 1)
	go func() { code <- app.Run() }()
	var once sync.Once
	finish := func() {
		once.Do(func() {
			close(release)
			app.Shutdown(nil)
			if c := <-code; c != lameduck.ExitOK {
				t.Errorf("replica A exited %d", c)
			}
		})
	}
	defer finish()
	<-app.Entered(lameduck.Serving)
	wait := func(c <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
	}

	// The long request, from another client.
	other := newBase(t, nil)
	slow := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+lnA.Addr().String()+"/slow", nil)
		_, body, err := do(other, req)
		if err != nil {
			body = err.Error()
		}
		slow <- body
	}()
	wait(entered, "the long request to reach A")
	wait(accepted, "A to accept the long request's connection")

	// A connection to A opened before the shutdown, used after it.
	pre, err := net.Dial("tcp", lnA.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	wait(accepted, "A to accept the early connection")
	app.Shutdown(nil)
	wait(app.Entered(lameduck.Stopping), "Stopping")

	var served log
	urlB := serve(t, okHandler(&served), nil, nil)
	conns := make(chan net.Conn, 1)
	conns <- pre
	base := newBase(t, nil)
	base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		select {
		case c := <-conns:
			return c, nil
		default: // A is gone from the balancer
			var d net.Dialer
			return d.DialContext(ctx, network, urlB[len("http://"):])
		}
	}
	var ev events
	req, _ := http.NewRequest("GET", urlB+"/hello", nil)
	code2, body, err := do(retry.New(base, retry.Options{Observer: ev.observe}), req)
	if err != nil || code2 != 200 || body != "ok" {
		t.Errorf("got %d %q, %v; want 200 ok from replica B", code2, body, err)
	}
	evs := ev.list()
	if len(evs) != 1 || evs[0].Reason != retry.ReasonRetryAfter || evs[0].StatusCode != 503 ||
		evs[0].RetryAfter != lameduck.DefaultRetryAfter || evs[0].GiveUp != nil {
		t.Errorf("events %+v, want one retry after A's 503 + Retry-After: 1", evs)
	}
	if n := app.Stats().Refused; n != 1 {
		t.Errorf("A refused %d requests, want 1", n)
	}
	finish()
	if s := <-slow; s != "A slow" {
		t.Errorf("the long request got %q, want A's answer", s)
	}
}
