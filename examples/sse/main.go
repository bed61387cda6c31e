// Command sse serves a Server-Sent Events stream and a long poll that both
// end cleanly when the service shuts down: the stream with a final "bye"
// event (and a retry hint), the long poll with an empty answer that tells
// the client to poll again, on a new connection.
//
//	go run ./examples/sse
//	curl -N localhost:8080/events        # a tick a second
//	curl -i localhost:8080/poll          # waits for news that never comes
//	# Ctrl-C the server: curl prints "event: bye", the poll gets 204
package main

import (
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/stream"
)

func main() {
	app := lameduck.New(lameduck.Options{})
	app.Serve(&http.Server{Addr: addr("PORT", ":8080"), Handler: newMux(app, time.Second)})
	app.Admin(addr("ADMIN_PORT", ":8081"))
	os.Exit(app.Run())
}

func newMux(app *lameduck.App, every time.Duration) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /events", events(app, every))
	mux.Handle("GET /poll", poll(app))
	return mux
}

// events sends a tick every interval until the client leaves or the
// service shuts down.
func events(app *lameduck.App, every time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ev, err := stream.NewEvents(w) // each write has a deadline: a stalled client cannot pin us
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		ctx, cancel := stream.Context(app, r.Context())
		defer cancel()
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case now := <-t.C:
				if err := ev.Send(stream.Event{ID: strconv.Itoa(i), Data: now.UTC().Format(time.RFC3339)}); err != nil {
					return // the client is gone or stalled
				}
			case <-ctx.Done():
				if stream.GoingAway(ctx) {
					// EventSource reconnects after Retry, with Last-Event-ID.
					_ = ev.Send(stream.Event{Name: "bye", Data: "server shutting down", Retry: 2 * time.Second})
				}
				return
			}
		}
	}
}

// poll is a long poll: it answers when there is news (never, here) or, at
// shutdown, with 204 and Connection: close so the client polls again on a
// new connection, which the load balancer sends to another replica.
func poll(app *lameduck.App) http.HandlerFunc {
	news := make(chan string) // nothing ever sends: a stand-in for a real event source
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := stream.Context(app, r.Context())
		defer cancel()
		select {
		case n := <-news:
			_, _ = w.Write([]byte(n))
		case <-ctx.Done():
			if stream.GoingAway(ctx) {
				w.Header().Set("Connection", "close")
				w.WriteHeader(http.StatusNoContent)
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
