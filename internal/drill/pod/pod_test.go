package pod

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The test binary doubles as the replica: with POD_TEST_SERVE=1 it serves
// HTTP on PORT and exits 0 100ms after SIGTERM.
func TestMain(m *testing.M) {
	if os.Getenv("POD_TEST_SERVE") == "1" {
		serve()
		return
	}
	goleak.VerifyTestMain(m)
}

func serve() {
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	<-sig
	time.Sleep(100 * time.Millisecond)
	os.Exit(0)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestTerminationSequence(t *testing.T) {
	port := freePort(t)
	var mu sync.Mutex
	var kinds []string
	var sawTerminating bool
	p, err := Start(Spec{
		Name:         "r0-1",
		Argv:         []string{os.Args[0]},
		Env:          append(os.Environ(), "POD_TEST_SERVE=1", "PORT="+strconv.Itoa(port)),
		Port:         port,
		Probe:        Probe{Kind: "http", Path: "/", Period: 50 * time.Millisecond, Timeout: time.Second, SuccessThreshold: 1, FailureThreshold: 3},
		MinReady:     100 * time.Millisecond,
		Grace:        5 * time.Second,
		PreStopSleep: 200 * time.Millisecond,
		Epoch:        time.Now(),
		OnEvent: func(e Event) {
			mu.Lock()
			kinds = append(kinds, e.Kind)
			mu.Unlock()
		},
		OnChange: func(p *Pod) {
			if _, _, _, terminating, _ := p.State(); terminating {
				mu.Lock()
				sawTerminating = true
				mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		if _, available, _, _, _ := p.State(); available {
			break
		}
		select {
		case <-deadline:
			p.Kill()
			t.Fatalf("replica never became available; output: %s", p.Output())
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.Terminate()
	p.Terminate() // idempotent
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		p.Kill()
		t.Fatal("replica did not exit after termination")
	}
	lc := p.Lifecycle()
	if lc.ExitCode != 0 || lc.Killed != 0 || lc.Unexpected {
		t.Fatalf("lifecycle %+v: want a clean exit on SIGTERM", lc)
	}
	if !(lc.Ready > 0 && lc.Available >= lc.Ready+100*time.Millisecond && lc.Terminating > lc.Available) {
		t.Fatalf("ready %v, available %v, terminating %v: want ready, then available after minReady, then deletion", lc.Ready, lc.Available, lc.Terminating)
	}
	if lc.SignalSent-lc.Terminating < 200*time.Millisecond || lc.PreStopDone > lc.SignalSent || lc.Signal != "SIGTERM" {
		t.Fatalf("deleted at %v, preStop done %v, %s at %v: want the signal after the 200ms preStop", lc.Terminating, lc.PreStopDone, lc.Signal, lc.SignalSent)
	}
	// Events come from several goroutines: wait for the exit event.
	deadline = time.After(5 * time.Second)
	for {
		mu.Lock()
		got := slices.Clone(kinds)
		saw := sawTerminating
		mu.Unlock()
		if len(got) > 0 && got[len(got)-1] == EventExited {
			want := []string{EventStarted, EventReady, EventAvailable, EventTerminating, EventPreStopDone, EventSignal, EventExited}
			if !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			if !saw {
				t.Fatal("OnChange never reported the terminating state")
			}
			return
		}
		select {
		case <-deadline:
			t.Fatalf("events %v: no exit event", got)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestStartFailsForMissingCommand(t *testing.T) {
	if _, err := Start(Spec{Name: "x", Argv: []string{"/nonexistent/cmd"}, Probe: Probe{Kind: "tcp", Period: time.Second}}); err == nil {
		t.Fatal("Start of a missing command succeeded")
	}
	// Found, but the supervisor cannot execute it.
	path := t.TempDir() + "/not-a-program"
	if err := os.WriteFile(path, []byte("\x00\x01garbage"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(Spec{Name: "x", Argv: []string{path}, Probe: Probe{Kind: "tcp", Period: time.Second}})
	if err == nil || !strings.Contains(err.Error(), "exec format error") {
		t.Fatalf("Start of a file that is not a program: %v, want exec format error", err)
	}
}
