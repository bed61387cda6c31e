// Command websocket is a WebSocket echo server that says goodbye properly:
// when it starts shutting down, every open WebSocket gets a close frame
// with status 1001 (Going Away) and its client reconnects elsewhere.
//
//	go run ./examples/websocket
//	websocat ws://localhost:8080/echo     # or any WebSocket client
//	# Ctrl-C the server: the client gets "1001 server shutting down"
//
// It uses github.com/coder/websocket (context-aware, no dependencies).
// Never pass the going-away context to Read or Write: coder/websocket
// closes the connection, without a close frame, when the context of an
// operation ends, even one that has just completed. So the handler reads in
// a goroutine of its own and reads and writes with r.Context() (cancelled
// only at the cut-off), and watches the going-away context separately.
package main

import (
	"net/http"
	"os"

	"github.com/coder/websocket"
	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/stream"
)

func main() {
	app := lameduck.New(lameduck.Options{})
	app.Serve(&http.Server{Addr: addr("PORT", ":8080"), Handler: newMux(app)})
	app.Admin(addr("ADMIN_PORT", ":8081"))
	os.Exit(app.Run())
}

func newMux(app *lameduck.App) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /echo", echo(app))
	return mux
}

// echo sends every message back until the client leaves or the service
// shuts down.
func echo(app *lameduck.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		// ctx ends when the shutdown starts (Draining; Stopping for a
		// connection opened while Draining).
		ctx, cancel := stream.Context(app, r.Context())
		defer cancel()

		type message struct {
			typ  websocket.MessageType
			data []byte
		}
		in := make(chan message)
		readErr := make(chan error, 1)
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				typ, data, err := c.Read(r.Context())
				if err != nil {
					readErr <- err
					return
				}
				select {
				case in <- message{typ, data}:
				case <-done:
					return
				}
			}
		}()
		for {
			select {
			case m := <-in:
				if err := c.Write(r.Context(), m.typ, m.data); err != nil {
					return
				}
			case <-readErr:
				return
			case <-ctx.Done():
				if stream.GoingAway(ctx) {
					// Writes the close frame and waits (up to 5s) for the
					// client's; the reader goroutine then ends.
					_ = c.Close(websocket.StatusGoingAway, "server shutting down")
				}
				return
			}
		}
	}
}

func addr(env, def string) string {
	if p := os.Getenv(env); p != "" {
		return ":" + p
	}
	return def
}
