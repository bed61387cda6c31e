package demo

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ShutdownHandler is the commonly recommended service: the write is done
// before answering, and on SIGTERM the server stops with
// http.Server.Shutdown, waiting for requests in flight. It has no drain
// delay: its listener closes the moment the signal comes, while load
// balancers may still send it new connections.
func ShutdownHandler(st *Store, delay time.Duration, stopping *atomic.Bool, fault Fault) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		if fault == Fault503 && stopping.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		time.Sleep(delay)
		if err := st.Commit(r.Context(), r.Header.Get(RequestIDHeader)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	return mux
}

// RunShutdown runs the http.Server.Shutdown variant until SIGTERM or
// SIGINT, and returns its exit code. With Fault503 it keeps its listener
// open for a second after the signal, answering 503.
func RunShutdown(cfg Config) int {
	cfg.Fault.apply()
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	defer rdb.Close()
	var stopping atomic.Bool
	srv := &http.Server{Addr: cfg.Addr, Handler: WithPodHeader(PodName(), ShutdownHandler(cfg.store(rdb), cfg.Delay, &stopping, cfg.Fault)), ReadHeaderTimeout: 10 * time.Second}
	sigs := []os.Signal{syscall.SIGTERM, os.Interrupt}
	if cfg.Fault == FaultIgnoreTerm {
		sigs = sigs[1:] // SIGTERM stays ignored
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		log.Printf("demo: %v", err)
		return 2
	case <-ctx.Done():
	}
	stopping.Store(true)
	if cfg.Fault == Fault503 {
		time.Sleep(time.Second)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Printf("demo: forced to shutdown: %v", err)
		return 1
	}
	if cfg.Fault == FaultExit3 {
		log.Printf("demo: stopped cleanly; exiting with code 3 on purpose")
		return 3
	}
	return 0
}
