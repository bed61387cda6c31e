// Package redistest starts a real redis-server for tests.
//
// Start runs redis-server in the foreground on a free 127.0.0.1 port, with
// persistence off and its working directory in t.TempDir(), and stops it when
// the test ends. When redis-server is not installed and the test runs as
// root, Start installs it with `apt-get install -y redis-server` (the
// project's CI does the same); otherwise the test fails — it is never
// skipped — with a message saying how to install it.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/internal/freeport"
)

// Server is a running redis-server.
type Server struct {
	// Addr is host:port of the server on 127.0.0.1.
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedWriter
}

var installOnce sync.Once
var installErr error

// Binary returns the path of redis-server, installing the Debian package when
// it is missing and the process runs as root.
func Binary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	installOnce.Do(func() {
		if os.Geteuid() != 0 {
			installErr = errors.New("redis-server is not installed and the tests do not run as root; install it with `sudo apt-get install -y redis-server`")
			return
		}
		out, err := exec.Command("apt-get", "install", "-y", "redis-server").CombinedOutput()
		if err != nil {
			installErr = fmt.Errorf("redis-server is not installed and `apt-get install -y redis-server` failed: %v\n%s", err, out)
		}
	})
	if installErr != nil {
		return "", installErr
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server still not found after installing it: %v", err)
	}
	return p, nil
}

// Start starts a redis-server on a free loopback port and registers its stop
// with t.Cleanup. It fails the test when the server cannot be started.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := start(bin, t.TempDir())
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		lastErr = err
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

func start(bin, dir string) (*Server, error) {
	port, err := freeport.Port()
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan struct{}), log: &lockedWriter{w: new(bytes.Buffer)}}
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no")
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.cmd.Stdout
	s.cmd.SysProcAttr = groupAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.After(10 * time.Second)
	for {
		if s.ping() == nil {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("redis-server exited at start-up (port %d taken?): %s", port, s.log.String())
		case <-deadline:
			s.Stop()
			return nil, fmt.Errorf("redis-server did not answer PING within 10s: %s", s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ping sends PING over a raw connection and expects +PONG.
func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// Stop kills the server and waits for it to exit. It is safe to call twice.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 64<<10 {
		return len(p), nil
	}
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
