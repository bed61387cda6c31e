// Command hello is the smallest lameduck service: one HTTP server, an admin
// server with /livez /readyz /phase /drain, a background task per request
// and a closer. Run it, then stop it with Ctrl-C and read the phase log.
//
//	go run ./examples/hello
//	curl -X POST localhost:8080/work; curl localhost:8081/readyz?verbose
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/lameduck-dev/lameduck"
)

func main() {
	app := lameduck.New(lameduck.Options{})
	app.Close("store", func() error { slog.Info("store closed"); return nil })

	mux := http.NewServeMux()
	mux.HandleFunc("POST /work", func(w http.ResponseWriter, r *http.Request) {
		// Answer now, finish the job afterwards: Stopping waits for it.
		err := app.Go("work", func(ctx context.Context) error {
			time.Sleep(2 * time.Second)
			slog.Info("work done")
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "accepted")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })

	app.Serve(&http.Server{Addr: addr("PORT", ":8080"), Handler: mux})
	app.Admin(addr("ADMIN_PORT", ":8081"))
	os.Exit(app.Run())
}

func addr(env, def string) string {
	if p := os.Getenv(env); p != "" {
		return ":" + p
	}
	return def
}
