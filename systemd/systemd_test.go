package systemd_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/internal/freeport"
	"github.com/lameduck-dev/lameduck/internal/hostdrill"
	"github.com/lameduck-dev/lameduck/internal/sdmanager"
	"github.com/lameduck-dev/lameduck/lameducktest"
	"github.com/lameduck-dev/lameduck/systemd"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	lameducktest.RunChild(map[string]func() int{"service": serviceMain})
	goleak.VerifyTestMain(m)
}

// serviceMain is a socket-activated lameduck service: it serves the
// inherited sockets named "http" and "admin" (and fails if they are
// missing: it never binds a port itself) and reports its phases to
// systemd. It prints "listening <addr>" once set up.
func serviceMain() int {
	socks, err := systemd.Activated()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ln, err := socks.Listener("http")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	app := lameduck.New(lameduck.Options{Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // some work in flight at every moment
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s=%q\n", systemd.EnvListenFDs, os.Getenv(systemd.EnvListenFDs))
	})
	app.ServeListener(&http.Server{Handler: mux}, ln)
	if adm, err := socks.Listener("admin"); err == nil {
		app.AdminListener(adm)
	}
	systemd.Attach(app)
	fmt.Println("listening", ln.Addr())
	return app.Run()
}

func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LAMEDUCK_") && !strings.HasPrefix(kv, "NOTIFY_SOCKET=") && !strings.HasPrefix(kv, "LISTEN_") {
			env = append(env, kv)
		}
	}
	return append(append(env, lameducktest.EnvChild+"=service"), extra...)
}

func notifySocket(t *testing.T) *sdmanager.NotifySocket {
	t.Helper()
	n, err := sdmanager.ListenNotify(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Debian's systemd-socket-activate binds the sockets, names them and
// passes them with real LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES; the service
// serves them by name, reports READY=1 on a real NOTIFY_SOCKET, and on
// SIGTERM reports STOPPING=1 and EXTEND_TIMEOUT_USEC matching its budget.
func TestSocketActivatedBySystemdSocketActivate(t *testing.T) {
	bin, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Fatalf("systemd-socket-activate is missing (Debian package systemd; scripts/test.sh installs it): %v", err)
	}
	n := notifySocket(t)
	httpPort, _ := freeport.Port()
	adminPort, _ := freeport.Port()
	args := []string{
		"-l", "127.0.0.1:" + strconv.Itoa(httpPort), "-l", "127.0.0.1:" + strconv.Itoa(adminPort),
		"--fdname=http:admin",
	}
	for _, kv := range childEnv(n.Env(), "LAMEDUCK_GRACE_PERIOD=40s", "LAMEDUCK_KILL_MARGIN=2s") {
		args = append(args, "-E", kv)
	}
	args = append(args, os.Args[0], "-test.run=^$")
	p := lameducktest.StartCommand(t, exec.Command(bin, args...))
	// systemd-socket-activate starts the service on the first connection,
	// which waits in the accept queue and is served by it.
	base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	for i := 0; ; i++ { // until systemd-socket-activate listens
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(adminPort))
		if err == nil {
			c.Close() // the admin socket: does not start the service
			break
		}
		if i == 100 {
			t.Fatalf("systemd-socket-activate does not listen: %v\n%s", err, p.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := get(t, base+"/env"); code != 200 || !strings.Contains(body, `LISTEN_FDS=""`) {
		t.Errorf("GET /env = %d %q: want 200 and LISTEN_FDS unset after Activated", code, body)
	}
	line := p.WaitLine("listening ")
	if want := fmt.Sprintf("listening 127.0.0.1:%d", httpPort); line != want {
		t.Fatalf("service said %q, want %q (the inherited socket)", line, want)
	}
	ready, _, err := n.Wait(0, 10*time.Second, func(m sdmanager.Message) bool { return m.Has("READY", "1") })
	if err != nil {
		t.Fatal(err)
	}
	if ready.PID != p.Pid() {
		t.Errorf("READY=1 came from pid %d, want the service's %d (systemd-socket-activate execs it)", ready.PID, p.Pid())
	}
	if code, _ := get(t, "http://127.0.0.1:"+strconv.Itoa(adminPort)+"/readyz"); code != 200 {
		t.Errorf("admin /readyz on the inherited admin socket = %d, want 200", code)
	}

	sigAt := p.Signal(syscall.SIGTERM)
	stopping, _, err := n.Wait(0, 10*time.Second, func(m sdmanager.Message) bool { return m.Has("STOPPING", "1") })
	if err != nil {
		t.Fatal(err)
	}
	us, err := strconv.ParseInt(stopping.Fields["EXTEND_TIMEOUT_USEC"], 10, 64)
	if err != nil {
		t.Fatalf("STOPPING=1 without EXTEND_TIMEOUT_USEC: %q", stopping.Raw)
	}
	// The grace period is 40s from the signal: what is left of it when
	// Draining began (less than 40s, more than 39s).
	if ext := time.Duration(us) * time.Microsecond; ext > 40*time.Second || ext < 40*time.Second-stopping.At.Sub(sigAt)-time.Second {
		t.Errorf("EXTEND_TIMEOUT_USEC = %v, want the 40s grace period less the time since SIGTERM", ext)
	}
	if !strings.Contains(stopping.Fields["STATUS"], "Draining") {
		t.Errorf("STATUS with STOPPING=1 = %q, want the Draining phase", stopping.Fields["STATUS"])
	}
	if code := p.Wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0\n%s", code, p.Stderr())
	}
	var statuses []string
	for _, m := range n.Messages() {
		if s, ok := m.Fields["STATUS"]; ok {
			statuses = append(statuses, strings.Fields(strings.TrimPrefix(s, "lameduck: "))[0])
		}
	}
	if got := strings.Join(statuses, " "); got != "Serving Draining Stopping Flushing Closing Stopped" {
		t.Errorf("STATUS sequence %q", got)
	}
}

// A socket held by the service manager outlives the service: connections
// that arrive while one process stopped and the next has not started yet
// wait in the accept queue. Under constant load, restarts lose nothing.
// A short drain delay retires keep-alive connections first (responses
// carry "Connection: close"); without it, Stopping closes idle keep-alive
// connections that a client may be sending on at that instant.
func TestRestartWithHeldSocketRefusesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	url := "http://" + ln.Addr().String() + "/incr"

	n := notifySocket(t)
	// start starts a process with the held socket and waits for READY=1.
	// Its output goes to a file, not a pipe, and it is waited for by pid.
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = childEnv(n.Env(), "LAMEDUCK_GRACE_PERIOD=10s", "LAMEDUCK_DRAIN_DELAY=1s")
		logf, err := os.CreateTemp(t.TempDir(), "service-*.log")
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		cmd.Stdout, cmd.Stderr = logf, logf
		sdmanager.Activate(cmd, []*os.File{f}, []string{"http"})
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
				b, _ := os.ReadFile(logf.Name())
				t.Logf("service %d:\n%s", cmd.Process.Pid, b)
			}
		})
		pid := cmd.Process.Pid
		if _, _, err := n.Wait(0, 20*time.Second, func(m sdmanager.Message) bool { return m.PID == pid && m.Has("READY", "1") }); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	stop := func(cmd *exec.Cmd) {
		cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("service %d: %v", cmd.Process.Pid, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("service %d still running 30s after SIGTERM", cmd.Process.Pid)
			cmd.Process.Kill()
			<-exited
		}
	}
	p := start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan hostdrill.LoadResult)
	go func() { done <- hostdrill.Load(ctx, url, 200, 64, 5*time.Second) }()
	for range 3 {
		time.Sleep(300 * time.Millisecond)
		stop(p)
		time.Sleep(50 * time.Millisecond) // nobody accepts now: connections queue
		p = start()
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	res := <-done
	stop(p)
	t.Logf("3 restarts: sent %d, ok %d, failed %v, max latency %v", res.Sent, res.OK, res.Failed, res.MaxLatency)
	if res.Sent < 100 || res.FailedTotal() != 0 || res.OK != res.Sent {
		t.Errorf("sent %d, ok %d, failed %v: want every request served", res.Sent, res.OK, res.Failed)
	}
}

// WatchdogSec= (WATCHDOG_USEC) makes the service ping WATCHDOG=1 every
// half period.
func TestWatchdogPings(t *testing.T) {
	n := notifySocket(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ln.(*net.TCPListener).File()
	ln.Close()
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = childEnv(n.Env(), "WATCHDOG_USEC=200000")
	sdmanager.Activate(cmd, []*os.File{f}, []string{"http"})
	p := lameducktest.StartCommand(t, cmd)
	p.WaitLine("listening ")
	var from int
	for range 3 {
		_, i, err := n.Wait(from, 5*time.Second, func(m sdmanager.Message) bool { return m.Has("WATCHDOG", "1") })
		if err != nil {
			t.Fatal(err)
		}
		from = i + 1
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(15 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// Outside systemd nothing is sent and nothing fails.
func TestNotifyWithoutSocket(t *testing.T) {
	t.Setenv(systemd.EnvNotifySocket, "")
	if sent, err := systemd.Notify("READY=1"); sent || err != nil {
		t.Fatalf("Notify without NOTIFY_SOCKET = %v, %v; want false, nil", sent, err)
	}
	t.Setenv(systemd.EnvNotifySocket, "relative")
	if _, err := systemd.Notify("READY=1"); err == nil {
		t.Fatal("Notify with a relative NOTIFY_SOCKET: no error")
	}
}

func TestWatchdogEnv(t *testing.T) {
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, true},
		{"30000000", strconv.Itoa(os.Getpid()), 30 * time.Second, true},
		{"30000000", "1", 0, false},
		{"x", "", 0, false},
		{"0", "", 0, false},
	} {
		t.Setenv(systemd.EnvWatchdogUSec, c.usec)
		t.Setenv(systemd.EnvWatchdogPID, c.pid)
		if d, ok := systemd.Watchdog(); d != c.want || ok != c.ok {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v %v, want %v %v", c.usec, c.pid, d, ok, c.want, c.ok)
		}
	}
}
