package demo

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/redis/go-redis/v9"
)

// GracefulHandler is the same handler as NaiveHandler with the increment
// tracked by app: the process does not stop before it is done. When the app
// no longer accepts work (it is stopping), the request is refused with 503
// instead of being acknowledged.
func GracefulHandler(app *lameduck.App, st *Store, delay time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		err := app.Go("incr", func(ctx context.Context) error {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done(): // the shutdown budget ran out
				return context.Cause(ctx)
			}
			return st.Commit(ctx, id)
		})
		if err != nil {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	return mux
}

// NewGraceful returns the lameduck variant, ready to Run: the service on
// cfg.Addr, the admin endpoints on cfg.AdminAddr, the Redis client closed
// last. opts are the library options (zero value: defaults and environment).
func NewGraceful(cfg Config, opts lameduck.Options) *lameduck.App {
	app := lameduck.New(opts)
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	app.Serve(&http.Server{
		Addr:              cfg.Addr,
		Handler:           WithPodHeader(PodName(), GracefulHandler(app, cfg.store(rdb), cfg.Delay)),
		ReadHeaderTimeout: 10 * time.Second,
	})
	app.Admin(cfg.AdminAddr)
	app.Close("redis", rdb.Close)
	return app
}

// RunGraceful runs the lameduck variant and returns its exit code.
func RunGraceful(cfg Config) int {
	return NewGraceful(cfg, lameduck.Options{}).Run()
}
