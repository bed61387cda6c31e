package redistest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartAnswersIncr(t *testing.T) {
	s := Start(t)
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	for _, want := range []string{":1", ":2"} {
		if _, err := c.Write([]byte("INCR k\r\n")); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(line); got != want {
			t.Fatalf("INCR: got %q, want %q", got, want)
		}
	}
	s.Stop()
	if err := s.ping(); err == nil {
		t.Fatal("server still answers after Stop")
	}
}
