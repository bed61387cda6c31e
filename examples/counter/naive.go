package counter

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
func NaiveHandler(rdb *redis.Client, key string, delay time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		go func() {
			time.Sleep(delay) // the work the client was told is done
			if err := rdb.Incr(context.Background(), key).Err(); err != nil {
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
	return http.ListenAndServe(cfg.Addr, NaiveHandler(rdb, cfg.Key, cfg.Delay))
}
