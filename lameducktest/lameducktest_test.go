package lameducktest_test

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/lameducktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	lameducktest.RunChild(map[string]func() int{"service": service})
	goleak.VerifyTestMain(m)
}

// service is a lameduck service whose /hang request ignores its context
// until the stop budget's cut-off.
func service() int {
	app := lameduck.New(lameduck.Options{Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 2
	}
	app.ServeListener(&http.Server{Handler: mux}, ln)
	fmt.Println("listening", ln.Addr())
	return app.Run()
}

func TestProcess(t *testing.T) {
	p := lameducktest.Start(t, "service", "LAMEDUCK_GRACE_PERIOD=2s", "LAMEDUCK_KILL_MARGIN=200ms",
		"LAMEDUCK_FLUSH_TIMEOUT=100ms", "LAMEDUCK_CLOSE_TIMEOUT=100ms", "LAMEDUCK_DRAIN_DELAY=100ms")
	addr := strings.TrimPrefix(p.WaitLine("listening "), "listening ")
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/hang")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	p.WaitPhase("Serving")
	// The request is in flight by the cut-off whether it reaches its handler
	// before SIGTERM or during the 100ms drain delay.
	time.Sleep(50 * time.Millisecond)
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 1 {
		t.Errorf("exit code %d, want 1 (a request was cut)", code)
	}
	<-done
	if got, want := fmt.Sprint(p.Phases()), "[Serving Draining Stopping Flushing Closing Stopped]"; got != want {
		t.Errorf("phases %s, want %s", got, want)
	}
	if got := fmt.Sprint(p.StillRunning()); got != "[request GET /hang]" {
		t.Errorf("still running %s, want [request GET /hang]", got)
	}
	if p.ExitedAt().IsZero() {
		t.Error("no exit time")
	}
}

// The test's own LAMEDUCK_* environment does not reach the child: here an
// invalid drain delay would make it exit 2 at once.
func TestStartDropsInheritedLameduckEnv(t *testing.T) {
	t.Setenv("LAMEDUCK_DRAIN_DELAY", "not-a-duration")
	p := lameducktest.Start(t, "service")
	p.WaitPhase("Serving")
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0: the inherited LAMEDUCK_DRAIN_DELAY reached the child", code)
	}
}

func TestChildKilledBySignalReports128PlusSignal(t *testing.T) {
	p := lameducktest.Start(t, "service", "LAMEDUCK_DRAIN_DELAY=5s")
	p.WaitLine("listening ")
	p.Signal(syscall.SIGKILL)
	if code := p.Wait(5 * time.Second); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want %d", code, 128+int(syscall.SIGKILL))
	}
}

func TestLogBuffer(t *testing.T) {
	var b lameducktest.LogBuffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	log.Info("lameduck: phase", "phase", "Draining")
	log.Info("other")
	log.Warn("lameduck: still running", "kind", "task", "name", "incr")
	if got := fmt.Sprint(b.Phases(), b.StillRunning(), len(b.Records(""))); got != "[Draining] [task incr] 3" {
		t.Errorf("got %s", got)
	}
}

// A test of a service's shutdown: the test binary re-executes itself as the
// service, the test sends it a real SIGTERM and reads its phase log.
func Example() {
	// In TestMain:
	//	lameducktest.RunChild(map[string]func() int{"service": service})
	//	os.Exit(m.Run())
	var t *testing.T // the test's *testing.T
	p := lameducktest.Start(t, "service", "LAMEDUCK_DRAIN_DELAY=0")
	p.WaitPhase("Serving")
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d: %v", code, p.StillRunning())
	}
	fmt.Println(p.Phases())
}
