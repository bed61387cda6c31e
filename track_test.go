package lameduck

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A hijacked connection (a WebSocket, say) whose handler returns while the
// App is Serving is forgotten: the App tracks hijacked connections only
// while their handler runs.
func TestHijackedConnectionForgottenWhenHandlerReturns(t *testing.T) {
	a := New(Options{LookupEnv: NoEnv, Logger: discardLogger})
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
		buf.Flush()
		<-release
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.ServeListener(&http.Server{Handler: mux}, ln)
	code := make(chan int, 1)
	go func() { code <- a.Run() }()
	defer func() {
		a.Shutdown(nil)
		<-code
	}()
	<-a.Entered(Serving)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.Contains(line, "101") {
		t.Fatalf("upgrade: %q, %v", line, err)
	}
	hijacked := func() int {
		a.track.mu.Lock()
		defer a.track.mu.Unlock()
		return len(a.track.hijacked)
	}
	waitFor(t, "the hijacked connection to be tracked", func() bool { return hijacked() == 1 })
	if n := a.Stats().InFlight; n != 1 {
		t.Errorf("in flight while the hijacked handler runs = %d, want 1", n)
	}
	close(release)
	waitFor(t, "the hijacked connection to be forgotten", func() bool { return hijacked() == 0 })
	if n := a.Stats().InFlight; n != 0 {
		t.Errorf("in flight after the handler returned = %d, want 0", n)
	}
}

// A flush hook that outlives the Flushing budget is named in the log and
// makes the exit code ExitUnclean; one that fails is logged with its name.
func TestFlushHooksBoundedAndNamed(t *testing.T) {
	var logs strings.Builder
	logMu := make(chan struct{}, 1)
	logMu <- struct{}{}
	w := writerFunc(func(p []byte) (int, error) { <-logMu; defer func() { logMu <- struct{}{} }(); return logs.Write(p) })
	a := New(Options{LookupEnv: NoEnv, Logger: slog.New(slog.NewTextHandler(w, nil)), FlushTimeout: 100 * time.Millisecond})
	a.Flush("ok", func(context.Context) error { return nil })
	a.Flush("broken", func(context.Context) error { return errors.New("gateway down") })
	slowDone := make(chan struct{})
	a.Flush("slow", func(ctx context.Context) error {
		defer close(slowDone)
		<-ctx.Done()                      // the budget ran out…
		time.Sleep(50 * time.Millisecond) // …and it is still going
		return nil
	})
	defer func() { <-slowDone }()
	go func() { <-a.Entered(Serving); a.Shutdown(nil) }()
	if code := a.Run(); code != ExitUnclean {
		t.Errorf("exit code %d, want %d", code, ExitUnclean)
	}
	<-logMu
	out := logs.String()
	for _, want := range []string{`msg="lameduck: still running" kind=flush name=slow`, `flush \"broken\": gateway down`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "name=ok") {
		t.Errorf("a finished flush hook was named as still running:\n%s", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
