package promlameduck_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/lameducktest"
	"github.com/lameduck-dev/lameduck/promlameduck"
	"go.uber.org/goleak"
)

// The end-to-end tests re-execute the test binary as testService (see
// lameducktest), so it receives real signals and exits for real.

func TestMain(m *testing.M) {
	lameducktest.RunChild(map[string]func() int{"prom-service": testService})
	goleak.VerifyTestMain(m)
}

// testService is the service the end-to-end tests stop: the same wiring as
// examples/metrics. GET /hello answers at once; GET /slow?ms=N after N ms.
func testService() int {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	app := lameduck.New(lameduck.Options{Logger: logger})
	m, err := promlameduck.New(app, promlameduck.Options{Logger: logger})
	if err != nil {
		logger.Error("metrics", "err", err)
		return lameduck.ExitConfig
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintln(w, "slow")
	})
	app.Serve(&http.Server{Addr: os.Getenv("SERVICE_ADDR"), Handler: m.InstrumentHandler("api", mux)})
	app.Admin("127.0.0.1:0") // $LAMEDUCK_ADMIN_ADDR
	return app.Run()
}

// service is a testService process.
type service struct {
	*lameducktest.Process
	out   *lameducktest.LogBuffer
	addr  string // service address
	admin string // admin address
}

// startService runs testService with env added to the environment and
// waits until it is ready.
func startService(t *testing.T, addr, admin string, env ...string) *service {
	t.Helper()
	env = append([]string{"SERVICE_ADDR=" + addr, lameduck.EnvAdminAddr + "=" + admin}, env...)
	p := lameducktest.Start(t, "prom-service", env...)
	s := &service{Process: p, out: p.Stderr(), addr: addr, admin: admin}
	if code := s.waitStatus(t, "/readyz", http.StatusOK, 15*time.Second); code != http.StatusOK {
		t.Fatalf("service not ready: /readyz %d", code)
	}
	return s
}

// waitStatus polls the admin server's path until it answers want.
func (s *service) waitStatus(t *testing.T, path string, want int, timeout time.Duration) int {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last := 0
	for {
		if resp, err := http.Get("http://" + s.admin + path); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			last = resp.StatusCode
			if last == want {
				return last
			}
		}
		select {
		case <-s.Exited():
			t.Fatalf("service exited while waiting for %s %d", path, want)
		case <-deadline.C:
			return last
		case <-tick.C:
		}
	}
}

// signal sends sig to the service.
func (s *service) signal(t *testing.T, sig syscall.Signal) { t.Helper(); s.Signal(sig) }

// wait returns the service's exit code.
func (s *service) wait(t *testing.T, timeout time.Duration) int { t.Helper(); return s.Wait(timeout) }

// load sends requests to the service and counts the answers its handlers
// gave (200 OK): the requests the service served.
type load struct {
	t      *testing.T
	client *http.Client
	mu     sync.Mutex
	served int
	wg     sync.WaitGroup
}

func newLoad(t *testing.T) *load {
	l := &load{t: t, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(l.client.CloseIdleConnections)
	return l
}

// get sends one request and reports whether the service served it.
func (l *load) get(url string) bool {
	resp, err := l.client.Get(url)
	if err != nil {
		l.t.Errorf("GET %s: %v", url, err)
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.t.Errorf("GET %s: %s", url, resp.Status)
		return false
	}
	l.mu.Lock()
	l.served++
	l.mu.Unlock()
	return true
}

// goGet sends one request in the background.
func (l *load) goGet(url string) { l.wg.Go(func() { l.get(url) }) }

// total waits for the background requests and returns the served count.
func (l *load) total() int {
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		l.t.Fatal("requests still running after 15s")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.served
}

// ctx returns a context ending after d (and when the test ends).
func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return c
}
