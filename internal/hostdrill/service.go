package hostdrill

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/systemd"
	"github.com/lameduck-dev/lameduck/upgrade"
	"github.com/redis/go-redis/v9"
)

// CounterKey is the store key the demo service increments.
const CounterKey = "counter"

// Serve runs the demo service of the restart drill: POST /incr answers
// 200 at once and increments CounterKey in the Redis at $REDIS_ADDR after
// delay, tracked by the App (it completes before the process exits). It
// serves the socket named "http": inherited from a previous process (an
// upgrade), passed by systemd, or a new one on 127.0.0.1:$PORT. SIGHUP
// upgrades it in place (upgradeDrain: upgrade.Options.Drain); it reports its phases with sd_notify. It returns
// the exit code.
func Serve(delay, upgradeDrain time.Duration) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app := lameduck.New(lameduck.Options{Logger: log})
	up, err := upgrade.New(app, upgrade.Options{Drain: upgradeDrain})
	if err != nil {
		fmt.Fprintln(os.Stderr, "restart-drill serve:", err)
		return lameduck.ExitConfig
	}
	ln, err := up.Listen("http", "tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "restart-drill serve:", err)
		return lameduck.ExitConfig
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		err := app.Go("incr", func(ctx context.Context) error {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			return rdb.Incr(ctx, CounterKey).Err()
		})
		if err != nil {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	app.ServeListener(&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln)
	app.Close("redis", rdb.Close)
	systemd.Attach(app)
	return app.Run()
}
