package balancer

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer answers each line with "<name> <line>" until closed.
type echoServer struct {
	name  string
	ln    net.Listener
	conns chan net.Conn
	done  chan struct{}
}

func startEcho(t *testing.T, name string) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{name: name, ln: ln, conns: make(chan net.Conn, 100), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns <- c
			go func() {
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						c.Close()
						return
					}
					if _, err := io.WriteString(c, s.name+" "+line); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *echoServer) stop() {
	s.ln.Close()
	<-s.done
	for {
		select {
		case c := <-s.conns:
			c.Close()
		default:
			return
		}
	}
}

func newBalancer(t *testing.T, opts Options) *Balancer {
	t.Helper()
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func ask(t *testing.T, c net.Conn, line string) (string, error) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(got), err
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialAsk connects and asks one line; the balancer's reset may already
// fail the connect (the RST can arrive before the handshake is reported).
func dialAsk(t *testing.T, addr string) error {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = ask(t, c, "hi")
	return err
}

// waitView polls until node's view satisfies ok.
func waitView(t *testing.T, b *Balancer, node int, ok func([]Endpoint) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !ok(b.View(node)) {
		select {
		case <-deadline:
			t.Fatalf("view of node %d never reached the expected state: %+v", node, b.View(node))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func has(id string) func([]Endpoint) bool {
	return func(eps []Endpoint) bool {
		for _, ep := range eps {
			if ep.ID == id {
				return true
			}
		}
		return false
	}
}

func TestForwardsToRandomReadyEndpoints(t *testing.T) {
	a, c := startEcho(t, "a"), startEcho(t, "c")
	b := newBalancer(t, Options{Seed: 1})
	b.Update(Endpoint{ID: "a", Addr: a.ln.Addr().String(), Ready: true, Serving: true})
	b.Update(Endpoint{ID: "c", Addr: c.ln.Addr().String(), Ready: true, Serving: true})
	waitView(t, b, 0, func(eps []Endpoint) bool { return len(eps) == 2 })
	seen := map[string]int{}
	for i := 0; i < 40; i++ {
		conn := dial(t, b.Addr())
		got, err := ask(t, conn, "hi")
		if err != nil {
			t.Fatal(err)
		}
		seen[strings.Fields(got)[0]]++
		conn.Close()
	}
	if seen["a"] == 0 || seen["c"] == 0 {
		t.Fatalf("connections were not spread over both endpoints: %v", seen)
	}
	recs := b.Conns()
	if len(recs) != 40 {
		t.Fatalf("got %d connection records, want 40", len(recs))
	}
	for _, r := range recs {
		if r.Outcome != OutcomeForwarded || (r.Backend != "a" && r.Backend != "c") {
			t.Fatalf("unexpected record %+v", r)
		}
	}
}

func TestRefusedBackendResetsClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there any more
	b := newBalancer(t, Options{})
	b.Update(Endpoint{ID: "dead", Addr: dead, Ready: true, Serving: true})
	waitView(t, b, 0, has("dead"))
	if err := dialAsk(t, b.Addr()); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client error = %v, want connection reset", err)
	}
	recs := b.Conns()
	if len(recs) != 1 || recs[0].Outcome != OutcomeRefused || recs[0].Backend != "dead" {
		t.Fatalf("records = %+v, want one refused connection to dead", recs)
	}
}

func TestNoEndpointResetsClient(t *testing.T) {
	b := newBalancer(t, Options{})
	if err := dialAsk(t, b.Addr()); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client error = %v, want connection reset", err)
	}
	if recs := b.Conns(); len(recs) != 1 || recs[0].Outcome != OutcomeNoEndpoint {
		t.Fatalf("records = %+v", recs)
	}
}

func TestPropagationLag(t *testing.T) {
	a := startEcho(t, "a")
	lag := time.Duration(0)
	b := newBalancer(t, Options{Nodes: 2, Lag: func(int) time.Duration { return lag }})
	b.Update(Endpoint{ID: "a", Addr: a.ln.Addr().String(), Ready: true, Serving: true})
	waitView(t, b, 0, has("a"))
	waitView(t, b, 1, has("a"))

	lag = time.Hour // the removal will not reach the nodes during this test
	b.Update(Endpoint{ID: "a", Removed: true})
	for i := 0; i < 10; i++ { // still routed to a: the nodes have not caught up
		conn := dial(t, b.Addr())
		if got, err := ask(t, conn, "x"); err != nil || got != "a x" {
			t.Fatalf("during the lag: got %q, %v; want a's answer", got, err)
		}
		conn.Close()
	}
	if !has("a")(b.View(0)) || !has("a")(b.View(1)) {
		t.Fatal("a removal with an hour of lag was applied early")
	}
}

func TestChangesApplyInOrder(t *testing.T) {
	lags := []time.Duration{300 * time.Millisecond, 0}
	i := 0
	b := newBalancer(t, Options{Lag: func(int) time.Duration { d := lags[i%2]; i++; return d }})
	b.Update(Endpoint{ID: "a", Addr: "127.0.0.1:1", Ready: true, Serving: true}) // lag 300ms
	b.Update(Endpoint{ID: "a", Removed: true})                                   // lag 0, must wait for the first
	deadline := time.After(5 * time.Second)
	for len(b.Events()) < 2 {
		select {
		case <-deadline:
			t.Fatalf("events: %+v", b.Events())
		case <-time.After(5 * time.Millisecond):
		}
	}
	ev := b.Events()
	if ev[0].Endpoint.Removed || !ev[1].Endpoint.Removed {
		t.Fatalf("changes applied out of order: %+v", ev)
	}
	if len(b.View(0)) != 0 {
		t.Fatalf("view = %+v, want empty", b.View(0))
	}
}

func TestFallbackToServingTerminating(t *testing.T) {
	a := startEcho(t, "a")
	b := newBalancer(t, Options{})
	b.Update(Endpoint{ID: "a", Addr: a.ln.Addr().String(), Serving: true, Terminating: true})
	waitView(t, b, 0, has("a"))
	conn := dial(t, b.Addr())
	if got, err := ask(t, conn, "x"); err != nil || got != "a x" {
		t.Fatalf("got %q, %v; want the terminating-but-serving endpoint", got, err)
	}
	// Once it stops serving, there is nothing left to route to.
	b.Update(Endpoint{ID: "a", Addr: a.ln.Addr().String(), Terminating: true})
	waitView(t, b, 0, func(eps []Endpoint) bool { return len(eps) == 1 && !eps[0].Serving })
	if err := dialAsk(t, b.Addr()); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("error = %v, want reset (no endpoint)", err)
	}
}

func TestEstablishedConnectionStaysAfterRemoval(t *testing.T) {
	a, c := startEcho(t, "a"), startEcho(t, "c")
	b := newBalancer(t, Options{})
	b.Update(Endpoint{ID: "a", Addr: a.ln.Addr().String(), Ready: true, Serving: true})
	waitView(t, b, 0, has("a"))
	conn := dial(t, b.Addr())
	if got, err := ask(t, conn, "1"); err != nil || got != "a 1" {
		t.Fatalf("got %q, %v", got, err)
	}
	b.Update(Endpoint{ID: "a", Removed: true})
	b.Update(Endpoint{ID: "c", Addr: c.ln.Addr().String(), Ready: true, Serving: true})
	waitView(t, b, 0, func(eps []Endpoint) bool { return len(eps) == 1 && eps[0].ID == "c" })
	if got, err := ask(t, conn, "2"); err != nil || got != "a 2" {
		t.Fatalf("established connection moved: got %q, %v; want a", got, err)
	}
	fresh := dial(t, b.Addr())
	if got, err := ask(t, fresh, "3"); err != nil || got != "c 3" {
		t.Fatalf("new connection: got %q, %v; want c", got, err)
	}
}

func TestBackendCloseIsPassedThrough(t *testing.T) {
	a := startEcho(t, "a")
	b := newBalancer(t, Options{})
	b.Update(Endpoint{ID: "a", Addr: a.ln.Addr().String(), Ready: true, Serving: true})
	waitView(t, b, 0, has("a"))

	// Orderly close by the backend: the client reads EOF.
	conn := dial(t, b.Addr())
	if _, err := ask(t, conn, "1"); err != nil {
		t.Fatal(err)
	}
	var srv net.Conn
	select {
	case srv = <-a.conns:
	case <-time.After(5 * time.Second):
		t.Fatal("backend never saw the connection")
	}
	srv.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after backend FIN: %v, want EOF", err)
	}

	// Reset by the backend: the client sees a reset.
	conn2 := dial(t, b.Addr())
	if _, err := ask(t, conn2, "1"); err != nil {
		t.Fatal(err)
	}
	select {
	case srv = <-a.conns:
	case <-time.After(5 * time.Second):
		t.Fatal("backend never saw the second connection")
	}
	reset(srv)
	_ = conn2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn2.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after backend RST: %v, want reset", err)
	}
	deadline := time.After(5 * time.Second)
	for {
		recs := b.Conns()
		if len(recs) == 2 && recs[0].BackendClose == CloseFIN && recs[1].BackendClose == CloseReset {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("records = %+v", recs)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestConcurrentUpdatesAndConnections updates endpoints from several
// goroutines while nodes apply changes and clients connect: it must neither
// deadlock nor race (run with -race).
func TestConcurrentUpdatesAndConnections(t *testing.T) {
	a := startEcho(t, "a")
	b := newBalancer(t, Options{Nodes: 3, Lag: func(n int) time.Duration { return time.Duration(n) * time.Millisecond }})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg = make(chan struct{}, 4)
		for g := 0; g < 4; g++ {
			go func() {
				defer func() { wg <- struct{}{} }()
				for i := 0; i < 200; i++ {
					b.Update(Endpoint{ID: "a", Addr: a.ln.Addr().String(), Ready: i%2 == 0, Serving: true, Terminating: i%3 == 0})
					_ = b.View(i % 3)
				}
			}()
		}
		for i := 0; i < 20; i++ {
			if c, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
				c.Close()
			}
		}
		for g := 0; g < 4; g++ {
			<-wg
		}
		_ = b.Events()
		_ = b.Conns()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("concurrent updates deadlocked")
	}
}

// TestBulkTransferAndHalfClose sends more than a copy buffer in each
// direction, in chunks of every size, and half-closes each side: every
// byte arrives, in order, and each FIN is passed on.
func TestBulkTransferAndHalfClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	payload := make([]byte, 1<<20+12345)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	// The backend reads everything until the client's FIN, then answers
	// with the same bytes and closes.
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		got, err := io.ReadAll(c)
		if err != nil {
			srvErr <- err
			return
		}
		_, err = c.Write(got)
		srvErr <- err
	}()
	b := newBalancer(t, Options{})
	b.Update(Endpoint{ID: "a", Addr: ln.Addr().String(), Ready: true, Serving: true})
	waitView(t, b, 0, has("a"))
	conn := dial(t, b.Addr())
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	for off, size := 0, 1; off < len(payload); size = size*3 + 1 {
		end := min(off+size%(70<<10)+1, len(payload))
		if _, err := conn.Write(payload[off:end]); err != nil {
			t.Fatal(err)
		}
		off = end
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("client read after %d bytes: %v; records %+v", len(got), err, b.Conns())
	}
	if err := <-srvErr; err != nil {
		t.Fatalf("backend: %v", err)
	}
	if len(got) != len(payload) || string(got) != string(payload) {
		t.Fatalf("client got %d bytes back, want the %d sent, identical", len(got), len(payload))
	}
	deadline := time.After(5 * time.Second)
	for {
		recs := b.Conns()
		if len(recs) == 1 && recs[0].ClientClose == CloseFIN && !recs[0].Ended.IsZero() {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("records = %+v, want the client's FIN first", recs)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
