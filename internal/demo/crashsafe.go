package demo

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/internal/idempotency"
	"github.com/redis/go-redis/v9"
)

// CrashSafeHandler is the crash-safe variant of POST /incr: the work
// (delay) happens before the write, the write is in Redis before the
// 200, and nothing runs after the answer, so a SIGKILL can cut a request
// but never lose an acknowledged one. With an Idempotency-Key the write
// is applied at most once per key (internal/idempotency: one Lua script
// looks the key up, increments, remembers the key and commits the request
// id in the ledger hash), so a client's retry of a request whose first
// attempt was cut after the write gets the first answer instead of a
// second increment. Without a key the write is the plain MULTI/EXEC of
// Store.Commit: durable before the 200, but not deduplicated.
//
// When Redis fails or the request's context ends first it answers 503 +
// Retry-After: 1: the write may or may not have happened, and a retry
// with the same key settles it.
func CrashSafeHandler(c *idempotency.Counter, st *Store, delay time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		if st.fault == FaultNoDedupe {
			// The deliberate bug: write first, ignore the key, answer
			// after the work.
			if err := st.Commit(r.Context(), r.Header.Get(RequestIDHeader)); err != nil {
				w.Header().Set("Retry-After", "1")
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			time.Sleep(delay)
			io.WriteString(w, "ok\n")
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // the client is gone; nothing was written
		}
		id := r.Header.Get(RequestIDHeader)
		var (
			v        int64
			replayed bool
			err      error
		)
		if keys := r.Header[idempotency.HeaderKey]; len(keys) > 0 {
			v, replayed, err = c.IncrFor(r.Context(), keys[0], id)
		} else {
			err = st.Commit(r.Context(), id)
		}
		switch {
		case errors.Is(err, idempotency.ErrBadKey):
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		case err != nil:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "store unavailable, retry with the same Idempotency-Key: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if replayed {
			w.Header().Set(idempotency.HeaderReplayed, "true")
		}
		io.WriteString(w, strconv.FormatInt(v, 10)+"\n")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	return mux
}

// NewCrashSafe returns the crash-safe variant on the lameduck library
// (graceful on SIGTERM as the lameduck variant, crash-safe on SIGKILL),
// ready to Run.
func NewCrashSafe(cfg Config, opts lameduck.Options) *lameduck.App {
	app := lameduck.New(opts)
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
	c := idempotency.New(rdb, idempotency.Options{Key: cfg.Key, LedgerHash: cfg.LedgerKey})
	app.Serve(&http.Server{
		Addr:              cfg.Addr,
		Handler:           WithPodHeader(PodName(), CrashSafeHandler(c, cfg.store(rdb), cfg.Delay)),
		ReadHeaderTimeout: 10 * time.Second,
	})
	app.Admin(cfg.AdminAddr)
	app.Close("redis", rdb.Close)
	return app
}

// RunCrashSafe runs the crash-safe variant and returns its exit code.
func RunCrashSafe(cfg Config) int {
	return NewCrashSafe(cfg, lameduck.Options{}).Run()
}
