// Command metrics is a lameduck service whose last metrics and last logs
// survive its shutdown: Prometheus metrics on the admin server, with a
// final scrape (or a final push) in the Flushing phase, and a JSON log that
// goes to $LAMEDUCK_LOG_FILE (appended, never truncated) or stderr.
//
//	go run ./examples/metrics
//	curl localhost:8080/hello; curl -X POST localhost:8080/work
//	curl localhost:8081/metrics
//
// Pull (the default): point Prometheus at :8081/metrics; on SIGTERM the
// service waits, after draining and within LAMEDUCK_FLUSH_TIMEOUT, for one
// more scrape. Push instead:
//
//	LAMEDUCK_PUSHGATEWAY_URL=http://localhost:9091 go run ./examples/metrics
//
// Log to a file: LAMEDUCK_LOG_FILE=/var/log/app/metrics.log.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/logfile"
	"github.com/lameduck-dev/lameduck/promlameduck"
)

func main() { os.Exit(run()) }

func run() int {
	logs, err := logfile.FromEnv(nil) // $LAMEDUCK_LOG_FILE or stderr
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return lameduck.ExitConfig
	}
	defer logs.Close() // after Run: the exit summary is the last record
	logger := logs.Logger(nil)

	app := lameduck.New(lameduck.Options{Logger: logger})
	logs.Attach(app) // first closer registered, so the last one run

	metrics, err := promlameduck.New(app, promlameduck.Options{Logger: logger}) // /metrics on the admin server
	if err != nil {
		logger.Error("metrics", "err", err)
		return lameduck.ExitConfig
	}
	// A tracer provider would be flushed the same way, one more closer:
	//	app.CloseContext("tracing", tp.Shutdown)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	mux.HandleFunc("POST /work", func(w http.ResponseWriter, r *http.Request) {
		// Answer now, finish afterwards: Stopping waits for the task, and
		// lameduck_tasks_completed_total counts it.
		if err := app.Go("work", func(ctx context.Context) error {
			time.Sleep(500 * time.Millisecond)
			return nil
		}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "accepted")
	})

	app.Serve(&http.Server{Addr: addr("PORT", ":8080"), Handler: metrics.InstrumentHandler("api", mux)})
	app.Admin(addr("ADMIN_PORT", ":8081"))
	return app.Run()
}

func addr(env, def string) string {
	if p := os.Getenv(env); p != "" {
		return ":" + p
	}
	return def
}
