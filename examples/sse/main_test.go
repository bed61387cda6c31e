package main

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStreamsEndCleanly: the event stream ends with a bye event and the
// long poll with 204 + Connection: close when the service shuts down.
func TestStreamsEndCleanly(t *testing.T) {
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv, GracePeriod: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app.ServeListener(&http.Server{Handler: newMux(app, 20*time.Millisecond)}, ln)
	code := make(chan int, 1)
	go func() { code <- app.Run() }()
	select {
	case <-app.Entered(lameduck.Serving):
	case <-time.After(10 * time.Second):
		t.Fatal("not serving")
	}
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	resp, err := client.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "id: 1") {
		t.Fatalf("first line %q, %v", line, err)
	}
	polled := make(chan *http.Response, 1)
	go func() {
		r, err := client.Get(base + "/poll")
		if err != nil {
			polled <- nil
			return
		}
		r.Body.Close()
		polled <- r
	}()
	for deadline := time.Now().Add(10 * time.Second); app.Stats().InFlight < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the long poll never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	app.Shutdown(errors.New("test"))
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(rest), "event: bye\nretry: 2000\ndata: server shutting down\n\n") {
		t.Fatalf("stream ended with %q, want a bye event", rest)
	}
	select {
	case r := <-polled:
		if r == nil || r.StatusCode != http.StatusNoContent || !r.Close {
			t.Fatalf("long poll: %+v, want 204 with Connection: close", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not return")
	}
	select {
	case got := <-code:
		if got != 0 {
			t.Fatalf("Run = %d, want 0", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}
