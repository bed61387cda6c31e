package demo

import (
	"context"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// NaiveHandler is the unsafe handler: it acknowledges at once and
// increments later in a goroutine nobody waits for.
func NaiveHandler(st *Store, delay time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		go func() {
			time.Sleep(delay) // the work the client was told is done
			if err := st.Commit(context.Background(), id); err != nil {
				log.Printf("incr: %v", err)
			}
		}()
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	return mux
}

// RunNaive serves the naive variant until the process dies. It has no signal
// handling: SIGTERM terminates the process wherever it is.
func RunNaive(cfg Config) error {
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	cfg.Fault.apply()
	log.Printf("naive counter service on %s (no signal handling: SIGTERM ends it wherever it is)", cfg.Addr)
	return http.ListenAndServe(cfg.Addr, WithPodHeader(PodName(), NaiveHandler(cfg.store(rdb), cfg.Delay)))
}
