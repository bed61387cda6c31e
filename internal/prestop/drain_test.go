//go:build linux

package prestop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
)

// runApp is the "app" role: a real lameduck service whose /slow handler
// takes $SLOW and writes the file slow-done just before it answers.
func runApp() {
	dir := os.Getenv("PRESTOP_TEST_DIR")
	slow, _ := time.ParseDuration(os.Getenv("SLOW"))
	grace := 20 * time.Second
	if g, err := time.ParseDuration(os.Getenv("GRACE")); err == nil {
		grace = g
	}
	app := lameduck.New(lameduck.Options{
		LookupEnv:   lameduck.NoEnv,
		GracePeriod: grace,
		DrainToken:  os.Getenv("TOKEN"),
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(slow)
		_ = os.WriteFile(filepath.Join(dir, "slow-done"), nil, 0o644)
		fmt.Fprintln(w, "slow done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	app.ServeListener(&http.Server{Handler: mux}, ln)
	admin := &http.Server{Handler: app.AdminHandler()}
	go func() { _ = admin.Serve(adminLn) }()
	go func() {
		<-app.Entered(lameduck.Serving)
		fmt.Printf("ready %s %s\n", ln.Addr(), adminLn.Addr())
	}()
	os.Exit(app.Run())
}

type appProc struct {
	cmd         *exec.Cmd
	addr, admin string
	exited      chan error
	dir         string
}

func startApp(t *testing.T, slow time.Duration, token string, env ...string) *appProc {
	t.Helper()
	p := &appProc{dir: t.TempDir(), exited: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(append(os.Environ(), roleEnv+"=app", "PRESTOP_TEST_DIR="+p.dir, "SLOW="+slow.String(), "TOKEN="+token), env...)
	p.cmd.Stderr = io.Discard
	if testing.Verbose() {
		p.cmd.Stderr = os.Stderr
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Error("app process not reaped")
		}
	})
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		lines <- l
	}()
	select {
	case l := <-lines:
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "ready" {
			t.Fatalf("app: unexpected first line %q", l)
		}
		p.addr, p.admin = f[1], f[2]
	case <-time.After(20 * time.Second):
		t.Fatal("app did not become ready")
	}
	return p
}

// startSlowRequest sends GET /slow and waits until the app counts it in flight.
func (p *appProc) startSlowRequest(t *testing.T) <-chan string {
	t.Helper()
	done := make(chan string, 1)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer client.CloseIdleConnections()
		resp, err := client.Get("http://" + p.addr + "/slow")
		if err != nil {
			done <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}()
	deadline := time.After(10 * time.Second)
	for {
		resp, err := http.Get("http://" + p.admin + "/phase")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"inflight":1`) {
				return done
			}
		}
		select {
		case <-deadline:
			t.Fatal("the slow request never showed up in flight")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestDrainReturnsAfterInFlightRequestFinished(t *testing.T) {
	p := startApp(t, 800*time.Millisecond, "")
	slow := p.startSlowRequest(t)
	var log logBuf
	err := Drain{Admin: "http://" + p.admin, Timeout: 15 * time.Second}.Run(context.Background(), log.logf)
	if err != nil {
		t.Fatalf("Drain: %v\nlog:\n%s", err, log.String())
	}
	// The handler writes slow-done before it answers: drain must not have
	// returned before that.
	if _, err := os.Stat(filepath.Join(p.dir, "slow-done")); err != nil {
		t.Fatalf("drain returned while the request was still in flight: %v\nlog:\n%s", err, log.String())
	}
	select {
	case got := <-slow:
		if got != "200 slow done" {
			t.Fatalf("in-flight request: got %q, want 200", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request never answered")
	}
	// After /drain the whole sequence runs to Stopped on its own: a clean
	// exit. (The kubelet's SIGTERM after the hook is not sent here: if it
	// lands after Run returned but before os.Exit, the default action kills
	// the process, a race in the library reported separately.)
	select {
	case err := <-p.exited:
		p.exited <- err // for Cleanup
		if err != nil {
			t.Fatalf("app exit after drain: %v, want status 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("app did not exit after draining")
	}
}

func TestDrainTimesOut(t *testing.T) {
	p := startApp(t, 1500*time.Millisecond, "")
	slow := p.startSlowRequest(t)
	var log logBuf
	err := Drain{Admin: p.admin, Timeout: 200 * time.Millisecond}.Run(context.Background(), log.logf)
	if err == nil || !strings.Contains(err.Error(), "still in flight") {
		t.Fatalf("Drain = %v, want a timeout error", err)
	}
	select {
	case <-slow:
	case <-time.After(15 * time.Second):
		t.Fatal("in-flight request never answered")
	}
}

// When the service's stop budget cuts the in-flight request off, /drain
// does not answer 200, and the hook reports the failure.
func TestDrainReportsCutOff(t *testing.T) {
	// Grace 2.6s − kill margin 2s: about 0.4s to stop, less than the 3s request.
	p := startApp(t, 3*time.Second, "", "GRACE=2600ms")
	slow := p.startSlowRequest(t)
	var log logBuf
	err := Drain{Admin: p.admin, Timeout: 10 * time.Second}.Run(context.Background(), log.logf)
	if err == nil || !strings.Contains(err.Error(), "cut off") {
		t.Fatalf("Drain = %v, want an error saying work was cut off\nlog:\n%s", err, log.String())
	}
	select {
	case <-slow:
	case <-time.After(15 * time.Second):
		t.Fatal("in-flight request never ended")
	}
}

func TestDrainToken(t *testing.T) {
	p := startApp(t, 0, "s3cret")
	var log logBuf
	err := Drain{Admin: p.admin, Timeout: 5 * time.Second}.Run(context.Background(), log.logf)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("Drain without token = %v, want 403", err)
	}
	if err := (Drain{Admin: p.admin, Token: "s3cret", Timeout: 5 * time.Second}).Run(context.Background(), log.logf); err != nil {
		t.Fatalf("Drain with token: %v", err)
	}
}

func TestDrainNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := (Drain{Admin: addr, Timeout: time.Second}).Run(context.Background(), func(string, ...any) {}); err == nil {
		t.Fatal("Drain against a closed port succeeded")
	}
}
