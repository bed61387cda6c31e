package stream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// getPhase reads /admin/phase on a connection of its own.
func getPhase(addr string) (phase string, inflight int64, err error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/admin/phase")
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Phase    string `json:"phase"`
		InFlight int64  `json:"inflight"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return "", 0, err
	}
	return st.Phase, st.InFlight, nil
}

// waitInFlight waits until n requests (besides the /phase request) are in flight.
func waitInFlight(t testing.TB, addr string, n int64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		_, got, err := getPhase(addr)
		if err == nil && got-1 >= n {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("in flight: %d (err %v), want %d", got-1, err, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitOK polls url until it answers 200.
func waitOK(t testing.TB, url string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	deadline := time.After(10 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-deadline:
			t.Fatalf("%s: not 200 after 10s (%v)", url, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// eofAt reads c until it fails and reports when.
func eofAt(c net.Conn) <-chan time.Time {
	ch := make(chan time.Time, 1)
	go func() {
		_, _ = io.Copy(io.Discard, c)
		ch <- time.Now()
	}()
	return ch
}

// idleKeepAlive opens a connection, completes one request on it and leaves
// it idle; the channel reports when the server closed it.
func idleKeepAlive(t testing.TB, addr string) <-chan time.Time {
	t.Helper()
	c := dial(t, addr)
	fmt.Fprintf(c, "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("GET /hello: %d close=%v; want a kept-alive 200", resp.StatusCode, resp.Close)
	}
	_ = c.SetReadDeadline(time.Time{})
	ch := make(chan time.Time, 1)
	go func() {
		_, _ = io.Copy(io.Discard, br)
		ch <- time.Now()
	}()
	return ch
}

type wsResult struct {
	status websocket.StatusCode // -1: no close frame
	reason string
	at     time.Time
	err    error
}

// openWS opens a WebSocket at path, checks one echo and then reads until the
// connection ends.
func openWS(t testing.TB, addr, path string) <-chan wsResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	c, _, err := websocket.Dial(ctx, "ws://"+addr+path, &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{}}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(ctx); err != nil || string(got) != "hi" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	ch := make(chan wsResult, 1)
	go func() {
		defer cancel()
		defer c.CloseNow()
		_, _, err := c.Read(ctx)
		var ce websocket.CloseError
		r := wsResult{status: -1, at: time.Now(), err: err}
		if errors.As(err, &ce) {
			r.status, r.reason = ce.Code, ce.Reason
		}
		ch <- r
	}()
	return ch
}

type sseResult struct {
	events []string // event names ("message" for unnamed events)
	last   string   // data of the last event
	err    error    // what ended the stream (nil: EOF)
}

// openSSE reads an event stream until it ends, after the first event.
func openSSE(t testing.TB, addr string) <-chan sseResult {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Get("http://" + addr + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("GET /sse: %d %q", resp.StatusCode, ct)
	}
	br := bufio.NewReader(resp.Body)
	readEvent := func() (name, data string, err error) {
		name = "message"
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return "", "", err
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				return name, data, nil
			case strings.HasPrefix(line, "event: "):
				name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				data = line[len("data: "):]
			}
		}
	}
	if name, _, err := readEvent(); err != nil || name != "message" {
		t.Fatalf("first event: %q, %v", name, err)
	}
	ch := make(chan sseResult, 1)
	go func() {
		defer client.CloseIdleConnections()
		defer resp.Body.Close()
		var r sseResult
		for {
			name, data, err := readEvent()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					r.err = err
				}
				ch <- r
				return
			}
			r.events = append(r.events, name)
			r.last = data
		}
	}()
	return ch
}

type pollResult struct {
	status int
	close  bool
	err    error
}

func openPoll(addr string) <-chan pollResult {
	ch := make(chan pollResult, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{}, Timeout: 15 * time.Second}
		defer client.CloseIdleConnections()
		resp, err := client.Get("http://" + addr + "/poll")
		if err != nil {
			ch <- pollResult{err: err}
			return
		}
		resp.Body.Close()
		ch <- pollResult{status: resp.StatusCode, close: resp.Close}
	}()
	return ch
}

func recv[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no result after 15s", what)
		panic("unreachable")
	}
}

// TestShutdownEndsStreamsCleanly stops a service with SIGTERM while it holds
// a WebSocket, an event stream, a long poll and several slow or idle
// clients: every stream must end politely and the service must exit 0,
// long before its budget is spent.
func TestShutdownEndsStreamsCleanly(t *testing.T) {
	c := startChild(t)
	ws := openWS(t, c.addr, "/ws")
	sse := openSSE(t, c.addr)
	poll := openPoll(c.addr)

	// A client that stops reading an event stream of large events.
	stalled := dial(t, c.addr)
	fmt.Fprintf(stalled, "GET /sse?size=65536&wt=1s HTTP/1.1\r\nHost: test\r\n\r\n")
	// A client that never finishes its request headers.
	half := dial(t, c.addr)
	fmt.Fprintf(half, "GET /hello HTTP/1.1\r\nHost: test\r\n")
	// A client that connects and sends nothing.
	silent := dial(t, c.addr)
	halfEOF, silentEOF := eofAt(half), eofAt(silent)
	idle := idleKeepAlive(t, c.addr)

	waitInFlight(t, c.addr, 4) // ws, sse, poll, stalled sse
	waitOK(t, "http://"+c.addr+"/sse-stalled")
	sent := c.term()

	w := recv(t, "websocket", ws)
	if w.status != websocket.StatusGoingAway {
		t.Errorf("websocket ended with status %d (%v), want a 1001 Going Away close frame", w.status, w.err)
	}
	s := recv(t, "sse", sse)
	if s.err != nil || len(s.events) == 0 || s.events[len(s.events)-1] != "bye" || s.last != "server shutting down" {
		t.Errorf("event stream ended with events %v (last data %q), err %v; want a final bye event then EOF", s.events, s.last, s.err)
	}
	p := recv(t, "long poll", poll)
	if p.err != nil || p.status != http.StatusNoContent || !p.close {
		t.Errorf("long poll: status %d close=%v err %v; want 204 with Connection: close", p.status, p.close, p.err)
	}

	code, took := c.wait(sent, 2*grace)
	if code != 0 {
		t.Errorf("exit code %d, want 0; still running: %v", code, c.stillRunning())
	}
	for name, ch := range map[string]<-chan time.Time{"half request": halfEOF, "silent": silentEOF, "idle keep-alive": idle} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Errorf("%s connection not closed after the exit", name)
		}
	}
	// The clean exit must not have waited for the budget: Stopping ended
	// because nothing was left, not because its 2.7s ran out.
	if got := c.stillRunning(); len(got) > 0 {
		t.Errorf("cut at the deadline: %v", got)
	}
	if !slices.ContainsFunc(c.records("test: sse write failed"), func(r map[string]any) bool {
		return strings.Contains(fmt.Sprint(r["err"]), "i/o timeout")
	}) {
		t.Errorf("the stalled event stream did not end with a write timeout")
	}
	t.Logf("exit %d %v after SIGTERM; websocket closed %v after it", code, took.Round(time.Millisecond), w.at.Sub(sent).Round(time.Millisecond))
}

// TestShutdownCutsWhatIgnoresIt holds a WebSocket whose handler ignores the
// shutdown, a client that never reads a large response and one that never
// finishes its request body: all are cut
// when Stopping's budget is spent, named in the log, and the process exits
// before the grace period ends. An idle keep-alive connection is closed when
// Stopping begins, long before the exit.
func TestShutdownCutsWhatIgnoresIt(t *testing.T) {
	c := startChild(t)
	ws := openWS(t, c.addr, "/ws-ignore")
	reader := dial(t, c.addr)
	fmt.Fprintf(reader, "GET /big HTTP/1.1\r\nHost: test\r\n\r\n") // and never read
	upload := dial(t, c.addr)
	fmt.Fprintf(upload, "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nonly ten b") // and never the rest
	idle := idleKeepAlive(t, c.addr)
	waitInFlight(t, c.addr, 3)
	sent := c.term()

	var idleClosed time.Time
	select {
	case idleClosed = <-idle:
	case <-c.Exited():
		t.Fatal("the process exited before it closed the idle keep-alive connection")
	case <-time.After(2 * grace):
		t.Fatal("idle keep-alive connection still open")
	}
	select {
	case <-c.Exited():
		t.Fatal("the process exited as the idle connection closed; it should have waited for the streams")
	default:
	}
	w := recv(t, "websocket", ws)
	if w.status == websocket.StatusGoingAway {
		t.Errorf("the ignoring handler sent a Going Away close frame?")
	}
	code, took := c.wait(sent, 2*grace)
	if code != 1 {
		t.Errorf("exit code %d, want 1 (work was cut off)", code)
	}
	if took >= grace {
		t.Errorf("exited %v after SIGTERM, after the grace period %v (SIGKILL time)", took, grace)
	}
	running := c.stillRunning()
	for _, want := range []string{"hijacked connection GET /ws-ignore", "request GET /big", "request POST /upload"} {
		if !slices.Contains(running, want) {
			t.Errorf("still-running records %q do not name %q", running, want)
		}
	}
	t.Logf("idle connection closed %v after SIGTERM; exit %d %v after it; cut: %v",
		idleClosed.Sub(sent).Round(time.Millisecond), code, took.Round(time.Millisecond), running)
}
