package stream_test

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
)

// TestStreamsEndByPhase runs a real App: an event stream open before the
// shutdown gets its final event while Draining; one opened while Draining
// (the balancer still sent it here) only once Stopping began.
func TestStreamsEndByPhase(t *testing.T) {
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv, GracePeriod: 20 * time.Second, DrainDelay: time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app.ServeListener(&http.Server{Handler: mux(app)}, ln)
	code := make(chan int, 1)
	go func() { code <- app.Run() }()
	select {
	case <-app.Entered(lameduck.Serving):
	case <-time.After(10 * time.Second):
		t.Fatal("not serving")
	}
	addr := ln.Addr().String()

	before := openSSE(t, addr)
	app.Shutdown(errors.New("test"))
	r := recv(t, "stream opened before", before)
	if p := app.Phase(); p != lameduck.Draining {
		t.Errorf("stream opened before the shutdown ended in %v, want Draining", p)
	}
	if len(r.events) == 0 || r.events[len(r.events)-1] != "bye" {
		t.Errorf("events %v, want a final bye", r.events)
	}

	during := openSSE(t, addr) // while Draining: still served
	r = recv(t, "stream opened while draining", during)
	if p := app.Phase(); p < lameduck.Stopping {
		t.Errorf("stream opened while Draining ended in %v, want Stopping or later", p)
	}
	if len(r.events) == 0 || r.events[len(r.events)-1] != "bye" {
		t.Errorf("events %v, want a final bye", r.events)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("Run = %d, want 0", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
}
