package stream_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/lameducktest"
	"github.com/lameduck-dev/lameduck/stream"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	lameducktest.RunChild(map[string]func() int{"stream-service": runChild})
	goleak.VerifyTestMain(m)
}

// runChild is the service the end-to-end tests start and stop with SIGTERM.
func runChild() int {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	app := lameduck.New(lameduck.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	app.ServeListener(&http.Server{Handler: mux(app)}, ln)
	go func() {
		select {
		case <-app.Entered(lameduck.Serving):
			fmt.Printf("READY %s\n", ln.Addr())
		case <-app.Entered(lameduck.Draining):
		}
	}()
	return app.Run()
}

// mux holds the handlers under test.
func mux(app *lameduck.App) *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("/admin/", http.StripPrefix("/admin", app.AdminHandler()))

	// A WebSocket echo that ends with a close frame when the service shuts down.
	m.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx, cancel := stream.Context(app, r.Context())
		defer cancel()
		type msg struct {
			typ  websocket.MessageType
			data []byte
		}
		msgs := make(chan msg)
		readErr := make(chan error, 1)
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				// Not ctx: cancelling a Read's context closes the connection
				// without a close frame.
				typ, data, err := c.Read(r.Context())
				if err != nil {
					readErr <- err
					return
				}
				select {
				case msgs <- msg{typ, data}:
				case <-done:
					return
				}
			}
		}()
		for {
			select {
			case m := <-msgs:
				if err := c.Write(r.Context(), m.typ, m.data); err != nil {
					return
				}
			case <-readErr:
				return
			case <-ctx.Done():
				if stream.GoingAway(ctx) {
					_ = c.Close(websocket.StatusGoingAway, "server shutting down")
				}
				return
			}
		}
	})

	// A WebSocket echo that ignores the shutdown: it is cut at the deadline.
	m.HandleFunc("GET /ws-ignore", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if err := c.Write(context.Background(), typ, data); err != nil {
				return
			}
		}
	})

	// Server-Sent Events: a tick every 50ms, a final "bye" event at shutdown.
	// ?size=N pads each event to N bytes; ?wt=D sets the write timeout.
	m.HandleFunc("GET /sse", func(w http.ResponseWriter, r *http.Request) {
		ev, err := stream.NewEvents(w)
		if err != nil {
			return
		}
		if d, err := time.ParseDuration(r.URL.Query().Get("wt")); err == nil {
			ev.WriteTimeout = d
		}
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		pad := strings.Repeat("x", size)
		every := 50 * time.Millisecond
		if size > 0 {
			every = time.Millisecond
		}
		ctx, cancel := stream.Context(app, r.Context())
		defer cancel()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-tick.C:
				if size > 0 {
					sending.Store(time.Now().UnixNano())
				}
				err := ev.Send(stream.Event{ID: strconv.Itoa(i), Data: "tick" + pad})
				if size > 0 {
					sending.Store(0)
				}
				if err != nil {
					slog.Info("test: sse write failed", "err", err.Error())
					return
				}
			case <-ctx.Done():
				if stream.GoingAway(ctx) {
					_ = ev.Send(stream.Event{Name: "bye", Data: "server shutting down", Retry: time.Second})
				}
				return
			}
		}
	})

	// A long poll: nothing ever happens, so it waits until the shutdown.
	m.HandleFunc("GET /poll", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := stream.Context(app, r.Context())
		defer cancel()
		<-ctx.Done()
		if stream.GoingAway(ctx) {
			w.Header().Set("Connection", "close") // poll again, elsewhere
			w.WriteHeader(http.StatusNoContent)
		}
	})

	// An upload: a client that never finishes its body holds it.
	m.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	})

	// A large response for a client that never reads it.
	m.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})

	// 200 once a padded event stream (?size=N) has been stuck in a write
	// for 200ms: its client has stopped reading.
	m.HandleFunc("GET /sse-stalled", func(w http.ResponseWriter, r *http.Request) {
		if at := sending.Load(); at == 0 || time.Since(time.Unix(0, at)) < 200*time.Millisecond {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})

	m.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	return m
}

// sending is when the current write of a padded event stream began (unix
// nanos), 0 when none is in progress.
var sending atomic.Int64
