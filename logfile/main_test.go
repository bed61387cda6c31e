package logfile_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/lameducktest"
	"github.com/lameduck-dev/lameduck/logfile"
	"go.uber.org/goleak"
)

// TestMain runs testService instead of the tests in a process started by
// lameducktest.Start, so the tests can stop a real process with a real signal.
func TestMain(m *testing.M) {
	lameducktest.RunChild(map[string]func() int{"logfile-service": testService})
	goleak.VerifyTestMain(m)
}

// testService logs to $LAMEDUCK_LOG_FILE. Its handlers:
//
//	GET /hello        answers at once
//	GET /slow?ms=N    answers after N ms
//	GET /stuck        sleeps 10s and ignores its context's cancellation
//	GET /task?ms=N    answers at once, runs a tracked task of N ms that
//	                  ignores cancellation too
func testService() int {
	f, err := logfile.FromEnv(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return lameduck.ExitConfig
	}
	app := lameduck.New(lameduck.Options{Logger: f.Logger(nil)})
	f.Attach(app)
	ms := func(r *http.Request) time.Duration {
		n, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		return time.Duration(n) * time.Millisecond
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(ms(r))
		fmt.Fprintln(w, "slow")
	})
	mux.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Second)
	})
	mux.HandleFunc("GET /task", func(w http.ResponseWriter, r *http.Request) {
		d := ms(r)
		if err := app.Go("job", func(context.Context) error { time.Sleep(d); return nil }); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "accepted")
	})
	app.Serve(&http.Server{Addr: os.Getenv("SERVICE_ADDR"), Handler: mux})
	app.Admin("127.0.0.1:0") // $LAMEDUCK_ADMIN_ADDR
	code := app.Run()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}
