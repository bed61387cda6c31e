package upgrade_test

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
	"github.com/lameduck-dev/lameduck/internal/hostdrill"
	"github.com/lameduck-dev/lameduck/internal/sdmanager"
	"github.com/lameduck-dev/lameduck/lameducktest"
	"github.com/lameduck-dev/lameduck/systemd"
	"github.com/lameduck-dev/lameduck/upgrade"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	lameducktest.RunChild(map[string]func() int{"service": serviceMain})
	// Successors outlive their parents: the test process adopts them so
	// that it can reap them and read their exit status.
	if err := becomeSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	goleak.VerifyTestMain(m)
}

// serviceMain is an upgradable service. What a new process does is read
// from the file $UPGRADE_TEST_MODE when it starts: "ok", "exit" (exits
// with status 3 before serving) or "never-ready" (its ready check never
// passes).
func serviceMain() int {
	mode, _ := os.ReadFile(os.Getenv("UPGRADE_TEST_MODE"))
	switch strings.TrimSpace(string(mode)) {
	case "exit":
		fmt.Fprintln(os.Stderr, "service: failing at start-up on purpose")
		return 3
	}
	app := lameduck.New(lameduck.Options{Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	if strings.TrimSpace(string(mode)) == "never-ready" {
		app.ReadyCheck("never", func(context.Context) error { return fmt.Errorf("never ready") })
	}
	up, err := upgrade.New(app, upgrade.Options{ReadyTimeout: 2 * time.Second, KillAfter: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ln, err := up.Listen("http", "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	adm, err := up.Listen("admin", "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pid := os.Getpid()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		fmt.Fprintf(w, "ok %d\n", pid)
	})
	app.ServeListener(&http.Server{Handler: mux}, ln)
	app.AdminListener(adm)
	app.HandleAdmin("/upgrade", up.Handler())
	systemd.Attach(app)
	if !up.Inherited() {
		fmt.Println("listening", ln.Addr(), adm.Addr())
	}
	return app.Run()
}

type service struct {
	t          *testing.T
	first      int // pid
	stderr     string
	notify     *sdmanager.NotifySocket
	mode       string
	url, admin string
}

// start starts the service. Its stdout and stderr are files, not pipes:
// successors inherit them and outlive the first process, and os/exec
// would wait for a pipe's last writer.
func start(t *testing.T) *service { return startWith(t, nil) }

// startWith starts the service, socket-activated with held (named "http")
// if it is not nil.
func startWith(t *testing.T, held *os.File) *service {
	dir := t.TempDir()
	n, err := sdmanager.ListenNotify(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	s := &service{t: t, notify: n, mode: dir + "/mode", stderr: dir + "/stderr"}
	s.setMode("ok")
	out, _ := os.Create(dir + "/stdout")
	errf, _ := os.Create(s.stderr)
	defer out.Close()
	defer errf.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LAMEDUCK_") && !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, lameducktest.EnvChild+"=service", n.Env(), "UPGRADE_TEST_MODE="+s.mode, "LAMEDUCK_GRACE_PERIOD=10s", "LAMEDUCK_DRAIN_DELAY=1s")
	cmd.Stdout, cmd.Stderr = out, errf
	if held != nil {
		sdmanager.Activate(cmd, []*os.File{held}, []string{"http"})
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.first = cmd.Process.Pid
	t.Cleanup(func() {
		// Whatever still runs (a failed test): kill it and reap it.
		for _, m := range n.Messages() {
			if pid, _ := strconv.Atoi(m.Fields["MAINPID"]); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		for {
			if pid, _ := syscall.Wait4(-1, nil, syscall.WNOHANG, nil); pid <= 0 {
				break
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(s.stderr)
			t.Logf("service stderr:\n%s", b)
		}
	})
	var line string
	for i := 0; ; i++ {
		b, _ := os.ReadFile(dir + "/stdout")
		if l, _, ok := strings.Cut(string(b), "\n"); ok {
			line = l
			break
		}
		if i == 200 {
			t.Fatal("the service did not say where it listens")
		}
		time.Sleep(50 * time.Millisecond)
	}
	f := strings.Fields(line)
	s.url, s.admin = "http://"+f[1], "http://"+f[2]
	if _, _, err := n.Wait(0, 10*time.Second, func(m sdmanager.Message) bool { return m.Has("READY", "1") }); err != nil {
		t.Fatal(err)
	}
	return s
}

// count counts the log records with message msg of every process.
func (s *service) count(msg string) int {
	b, _ := os.ReadFile(s.stderr)
	return strings.Count(string(b), `"msg":"`+msg+`"`)
}

func (s *service) setMode(m string) {
	if err := os.WriteFile(s.mode, []byte(m), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// upgrade POSTs /upgrade and returns the status and body.
func (s *service) upgrade() (int, string) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Post(s.admin+"/upgrade", "", nil)
	if err != nil {
		s.t.Fatalf("POST /upgrade: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitExit reaps pid (a child or an adopted grandchild) and returns its
// exit code.
func waitExit(t *testing.T, pid int, limit time.Duration) int {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		var ws syscall.WaitStatus
		for {
			_, err := syscall.Wait4(pid, &ws, 0, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				done <- -1
				return
			}
			if ws.Signaled() {
				done <- 128 + int(ws.Signal())
			} else {
				done <- ws.ExitStatus()
			}
			return
		}
	}()
	select {
	case c := <-done:
		return c
	case <-time.After(limit):
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("pid %d still running after %v", pid, limit)
		return -1
	}
}

// Three upgrades under constant load (SIGHUP twice, the admin call once):
// every request is served, each old process drains and exits 0, systemd
// is told the new main pid by the old main process.
func TestUpgradeUnderLoadFailsNothing(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan hostdrill.LoadResult)
	go func() { done <- hostdrill.Load(ctx, s.url+"/incr", 200, 64, 5*time.Second) }()

	main := s.first
	from := 0
	for i := range 3 {
		time.Sleep(400 * time.Millisecond)
		if i == 1 {
			if code, body := s.upgrade(); code != 200 {
				t.Fatalf("POST /upgrade = %d %q", code, body)
			}
		} else {
			syscall.Kill(main, syscall.SIGHUP)
		}
		m, idx, err := s.notify.Wait(from, 15*time.Second, func(m sdmanager.Message) bool { return m.Fields["MAINPID"] != "" })
		if err != nil {
			t.Fatal(err)
		}
		from = idx + 1
		if m.PID != main {
			t.Errorf("MAINPID= sent by pid %d, want the old main process %d", m.PID, main)
		}
		next, _ := strconv.Atoi(m.Fields["MAINPID"])
		if next == main || next <= 0 {
			t.Fatalf("MAINPID=%q", m.Fields["MAINPID"])
		}
		if code := waitExit(t, main, 15*time.Second); code != 0 {
			t.Errorf("old process %d exited %d, want 0", main, code)
		}
		main = next
	}
	time.Sleep(400 * time.Millisecond)
	cancel()
	res := <-done
	syscall.Kill(main, syscall.SIGTERM)
	if code := waitExit(t, main, 15*time.Second); code != 0 {
		t.Errorf("last process exited %d", code)
	}
	t.Logf("3 upgrades: sent %d, ok %d, failed %v, p99 %v, max %v", res.Sent, res.OK, res.Failed, res.P99, res.MaxLatency)
	if res.Sent < 200 || res.OK != res.Sent || res.FailedTotal() != 0 {
		t.Errorf("sent %d, ok %d, failed %v: want every request served", res.Sent, res.OK, res.Failed)
	}
	for _, m := range s.notify.Messages() {
		if m.Has("STOPPING", "1") && m.PID != main {
			t.Errorf("STOPPING=1 from pid %d, which handed off (not a stop)", m.PID)
		}
	}
	if got := s.count("upgrade: handed off"); got != 3 {
		t.Errorf("%d 'handed off' records, want 3", got)
	}
}

// A new process that exits at start-up, or never becomes ready, fails the
// upgrade; the old one serves on, under load, without a failed request.
func TestFailedUpgradeKeepsOldServing(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan hostdrill.LoadResult)
	go func() { done <- hostdrill.Load(ctx, s.url+"/incr", 200, 64, 5*time.Second) }()

	s.setMode("exit")
	code, body := s.upgrade()
	if code != 500 || !strings.Contains(body, "exited before it was ready") || !strings.Contains(body, "exit status 3") {
		t.Errorf("upgrade to a crashing binary: %d %q", code, body)
	}
	s.setMode("never-ready")
	code, body = s.upgrade()
	if code != 500 || !strings.Contains(body, "not ready after 2s") {
		t.Errorf("upgrade to a never-ready binary: %d %q", code, body)
	}
	s.setMode("ok")
	time.Sleep(300 * time.Millisecond)
	cancel()
	res := <-done
	t.Logf("2 failed upgrades: sent %d, ok %d, failed %v, max %v", res.Sent, res.OK, res.Failed, res.MaxLatency)
	if res.Sent < 100 || res.OK != res.Sent {
		t.Errorf("sent %d, ok %d, failed %v: want every request served", res.Sent, res.OK, res.Failed)
	}
	if err := syscall.Kill(s.first, 0); err != nil {
		t.Fatalf("the old process is gone: %v", err)
	}
	for _, m := range s.notify.Messages() {
		if m.Fields["MAINPID"] != "" {
			t.Errorf("MAINPID sent after a failed upgrade: %q", m.Raw)
		}
		if m.Has("STOPPING", "1") {
			// The never-ready successor was stopped: under NotifyAccess=all
			// its STOPPING=1 would stop the whole service.
			t.Errorf("STOPPING=1 from pid %d during failed upgrades: %q", m.PID, m.Raw)
		}
	}
	// It still upgrades once a good binary is there.
	if code, body := s.upgrade(); code != 200 {
		t.Fatalf("upgrade after failures: %d %q", code, body)
	}
	if code := waitExit(t, s.first, 15*time.Second); code != 0 {
		t.Errorf("old process exited %d", code)
	}
	m, _, err := s.notify.Wait(0, 5*time.Second, func(m sdmanager.Message) bool { return m.Fields["MAINPID"] != "" })
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(m.Fields["MAINPID"])
	syscall.Kill(pid, syscall.SIGTERM)
	if code := waitExit(t, pid, 15*time.Second); code != 0 {
		t.Errorf("successor exited %d", code)
	}
	// The never-ready successor was stopped with SIGTERM and reaped by
	// the old process; the crashing one too.
	if got := s.count("upgrade: failed"); got != 2 {
		t.Errorf("%d 'upgrade: failed' records, want 2", got)
	}
}

// A socket-activated service upgraded in place twice (systemctl reload),
// then stopped (systemctl stop) and started again with the socket systemd
// still holds: under constant load nothing is refused, reset or lost at
// any step. The successors know the socket is held, so the last one stops
// accepting as soon as its own shutdown begins.
func TestUpgradeOfSocketActivatedService(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	s := startWith(t, held)
	if s.url != "http://"+ln.Addr().String() {
		t.Fatalf("service listens on %s, want the activated socket %s", s.url, ln.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan hostdrill.LoadResult)
	go func() { done <- hostdrill.Load(ctx, s.url+"/incr", 200, 64, 10*time.Second) }()
	main, from := s.first, 0
	for range 2 {
		time.Sleep(400 * time.Millisecond)
		syscall.Kill(main, syscall.SIGHUP)
		m, idx, err := s.notify.Wait(from, 15*time.Second, func(m sdmanager.Message) bool { return m.Fields["MAINPID"] != "" })
		if err != nil {
			t.Fatal(err)
		}
		from = idx + 1
		next, _ := strconv.Atoi(m.Fields["MAINPID"])
		if code := waitExit(t, main, 15*time.Second); code != 0 {
			t.Errorf("old process %d exited %d", main, code)
		}
		main = next
	}
	time.Sleep(400 * time.Millisecond)
	syscall.Kill(main, syscall.SIGTERM) // systemctl stop; the socket stays with "systemd"
	if _, _, err := s.notify.Wait(from, 15*time.Second, func(m sdmanager.Message) bool { return m.PID == main && m.Has("STOPPING", "1") }); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, main, 15*time.Second); code != 0 {
		t.Errorf("last process exited %d", code)
	}
	again := startWith(t, held) // systemctl start: the queued connections are served
	time.Sleep(400 * time.Millisecond)
	cancel()
	res := <-done
	syscall.Kill(again.first, syscall.SIGTERM)
	if code := waitExit(t, again.first, 15*time.Second); code != 0 {
		t.Errorf("restarted process exited %d", code)
	}
	t.Logf("2 upgrades, a stop and a start: sent %d, ok %d, failed %v, max %v", res.Sent, res.OK, res.Failed, res.MaxLatency)
	if res.Sent < 200 || res.OK != res.Sent {
		t.Errorf("sent %d, ok %d, failed %v: want every request served", res.Sent, res.OK, res.Failed)
	}
}
