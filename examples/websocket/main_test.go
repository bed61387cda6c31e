package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lameduck-dev/lameduck"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestEchoSaysGoodbye: an open WebSocket gets a 1001 close frame when the
// service shuts down, and the service exits cleanly.
func TestEchoSaysGoodbye(t *testing.T) {
	app := lameduck.New(lameduck.Options{LookupEnv: lameduck.NoEnv, GracePeriod: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app.ServeListener(&http.Server{Handler: newMux(app)}, ln)
	code := make(chan int, 1)
	go func() { code <- app.Run() }()
	select {
	case <-app.Entered(lameduck.Serving):
	case <-time.After(10 * time.Second):
		t.Fatal("not serving")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/echo", &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(ctx); err != nil || string(got) != "ping" {
		t.Fatalf("echo %q, %v", got, err)
	}
	app.Shutdown(errors.New("test"))
	_, _, err = c.Read(ctx)
	if s := websocket.CloseStatus(err); s != websocket.StatusGoingAway {
		t.Fatalf("read after shutdown: %v (status %d), want close 1001", err, s)
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
