package retry_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/retry"
)

// The tests' servers are real: a net/http server on a loopback TCP port,
// in front of which a divert function may take some of the accepted
// connections to misbehave on them (reset, close, raw HTTP/2 frames).

// divertFunc returns what to do with the n-th accepted connection
// (n = 1, 2, …): nil leaves it to the net/http server; a function takes it
// and runs in its own goroutine, which must close the connection.
type divertFunc func(n int) func(c *net.TCPConn)

// frontListener hands the connections divert leaves to the server.
type frontListener struct {
	net.Listener
	divert divertFunc
	n      int
	wg     sync.WaitGroup
}

func (l *frontListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.n++
		var f func(*net.TCPConn)
		if l.divert != nil {
			f = l.divert(l.n)
		}
		if f == nil {
			return c, nil
		}
		l.wg.Go(func() { f(c.(*net.TCPConn)) })
	}
}

// serve starts handler on a loopback port behind divert (nil: none) and
// returns the base URL. protocols nil means HTTP/1.1.
func serve(t *testing.T, handler http.Handler, protocols *http.Protocols, divert divertFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &frontListener{Listener: ln, divert: divert}
	srv := &http.Server{Handler: handler, Protocols: protocols, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(fl) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		fl.wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// h2c is the HTTP/2-without-TLS (prior knowledge) protocol set.
func h2c() *http.Protocols {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return p
}

// newBase returns a fresh transport (HTTP/1.1 if protocols is nil) whose
// idle connections are closed when the test ends.
func newBase(t *testing.T, protocols *http.Protocols) *http.Transport {
	tr := &http.Transport{Protocols: protocols, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// events records the Observer's events.
type events struct {
	mu  sync.Mutex
	all []retry.Event
}

func (e *events) observe(ev retry.Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) list() []retry.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]retry.Event(nil), e.all...)
}

// received is what a server (net/http handler or diverted connection)
// saw of one request.
type received struct {
	method, key, body string
}

// log records the requests a server received, in order.
type log struct {
	mu  sync.Mutex
	all []received
}

func (l *log) add(r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	l.all = append(l.all, received{r.Method, r.Header.Get(retry.HeaderKey), string(b)})
	l.mu.Unlock()
}

func (l *log) list() []received {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]received(nil), l.all...)
}

// readRequest reads one HTTP/1 request from c, body included, into l.
func readRequest(t *testing.T, c net.Conn, l *log) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		t.Errorf("diverted connection: reading the request: %v", err)
		return
	}
	l.add(req)
}

// reset closes c with SO_LINGER 0: the peer gets a TCP RST.
func reset(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}

// okHandler records each request in l and answers 200 "ok".
func okHandler(l *log) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.add(r)
		_, _ = io.WriteString(w, "ok")
	})
}

// do sends req through rt and returns the status and body, or the error.
func do(rt http.RoundTripper, req *http.Request) (int, string, error) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
