package retry_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/retry"
)

// fast are options with short waits, so the tests spend little time in
// backoff (the waits themselves are not what these tests check).
func fast(ev *events) retry.Options {
	return retry.Options{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Observer: ev.observe}
}

// resetFirst diverts the first connection: it reads one request into l
// (the server received it) and resets the connection before answering.
func resetFirst(t *testing.T, l *log) divertFunc {
	return func(n int) func(*net.TCPConn) {
		if n != 1 {
			return nil
		}
		return func(c *net.TCPConn) { readRequest(t, c, l); reset(c) }
	}
}

// opaque hides a reader's type so http.NewRequest sets no GetBody.
type opaque struct{ io.Reader }

func TestResetBeforeResponse(t *testing.T) {
	const body = "the body, which must arrive whole on every attempt"
	for _, tc := range []struct {
		name    string
		method  string
		key     string
		body    io.Reader
		retried bool
		giveUp  error
	}{
		{name: "GET is retried", method: "GET", retried: true},
		{name: "PUT with a body is retried, body rewound", method: "PUT", body: strings.NewReader(body), retried: true},
		{name: "POST with a key is retried with the same key", method: "POST", key: retry.NewKey(), body: strings.NewReader(body), retried: true},
		{name: "POST without a key is not retried", method: "POST", body: strings.NewReader(body), giveUp: retry.ErrNotIdempotent},
		{name: "PUT without GetBody is not retried", method: "PUT", body: opaque{strings.NewReader(body)}, giveUp: retry.ErrBodyNotRewindable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var diverted, served log
			url := serve(t, okHandler(&served), nil, resetFirst(t, &diverted))
			var ev events
			rt := retry.New(newBase(t, nil), fast(&ev))
			req, _ := http.NewRequest(tc.method, url+"/w", tc.body)
			if tc.key != "" {
				req.Header.Set(retry.HeaderKey, tc.key)
			}
			code, got, err := do(rt, req)

			want := received{method: tc.method, key: tc.key}
			if tc.body != nil {
				want.body = body
			}
			if d := diverted.list(); len(d) != 1 || d[0] != want {
				t.Errorf("the resetting connection received %+v, want [%+v]", d, want)
			}
			evs := ev.list()
			if len(evs) != 1 || evs[0].Reason != retry.ReasonConnectionLost || evs[0].Attempt != 1 || !errors.Is(evs[0].GiveUp, tc.giveUp) {
				t.Errorf("events %+v, want one connection_lost event, attempt 1, GiveUp %v", evs, tc.giveUp)
			}
			if tc.retried {
				if err != nil || code != 200 || got != "ok" {
					t.Fatalf("got %d %q, %v; want 200 ok", code, got, err)
				}
				if s := served.list(); len(s) != 1 || s[0] != want {
					t.Errorf("the server received %+v, want [%+v]", s, want)
				}
				return
			}
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("got %d, %v; want the reset (ECONNRESET) unchanged", code, err)
			}
			if s := served.list(); len(s) != 0 {
				t.Errorf("the request was sent again: %+v", s)
			}
		})
	}
}

// Without the Transport, net/http does not retry a GET whose fresh
// connection is reset: the control for TestResetBeforeResponse.
func TestResetBeforeResponseBareTransportFails(t *testing.T) {
	var diverted, served log
	url := serve(t, okHandler(&served), nil, resetFirst(t, &diverted))
	req, _ := http.NewRequest("GET", url, nil)
	if _, _, err := do(newBase(t, nil), req); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("bare http.Transport: %v, want ECONNRESET", err)
	}
}

// A server that closes connections as soon as it accepts them (a process
// exiting with its listener's backlog): the client sees EOF, "server
// closed idle connection" or a reset, depending on timing; all retried.
func TestClosedOnAccept(t *testing.T) {
	var served log
	url := serve(t, okHandler(&served), nil, func(n int) func(*net.TCPConn) {
		if n > 2 {
			return nil
		}
		return func(c *net.TCPConn) { c.Close() }
	})
	var ev events
	rt := retry.New(newBase(t, nil), fast(&ev))
	req, _ := http.NewRequest("GET", url, nil)
	if code, _, err := do(rt, req); err != nil || code != 200 {
		t.Fatalf("got %d, %v; want 200", code, err)
	}
	evs := ev.list()
	if len(evs) != 2 {
		t.Fatalf("events %+v, want 2", evs)
	}
	for _, e := range evs {
		if e.Reason != retry.ReasonConnectionLost || e.GiveUp != nil {
			t.Errorf("event %+v, want connection_lost and a retry", e)
		}
	}
}

func TestAttemptsExhausted(t *testing.T) {
	var diverted log
	url := serve(t, http.NotFoundHandler(), nil, func(int) func(*net.TCPConn) {
		return func(c *net.TCPConn) { readRequest(t, c, &diverted); reset(c) }
	})
	var ev events
	o := fast(&ev)
	o.MaxAttempts = 3
	req, _ := http.NewRequest("GET", url, nil)
	_, _, err := do(retry.New(newBase(t, nil), o), req)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("got %v, want the last attempt's ECONNRESET", err)
	}
	if n := len(diverted.list()); n != 3 {
		t.Errorf("%d attempts reached the server, want 3", n)
	}
	evs := ev.list()
	if len(evs) != 3 || evs[2].GiveUp != retry.ErrAttemptsExhausted || evs[0].GiveUp != nil || evs[1].GiveUp != nil {
		t.Errorf("events %+v, want 2 retries then ErrAttemptsExhausted", evs)
	}
}

// A dial to a closed port is refused: nothing was sent, and the Transport
// retries it (an idempotent request) until the attempts run out.
func TestDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var ev events
	o := fast(&ev)
	o.MaxAttempts = 2
	req, _ := http.NewRequest("GET", "http://"+addr, nil)
	if _, _, err := do(retry.New(newBase(t, nil), o), req); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("got %v, want ECONNREFUSED", err)
	}
	evs := ev.list()
	if len(evs) != 2 || evs[0].Reason != retry.ReasonUnprocessed || evs[1].GiveUp != retry.ErrAttemptsExhausted {
		t.Errorf("events %+v, want unprocessed, retried once", evs)
	}
}

func TestGenerateKeys(t *testing.T) {
	var diverted, served log
	url := serve(t, okHandler(&served), nil, resetFirst(t, &diverted))
	var ev events
	o := fast(&ev)
	o.GenerateKeys = true
	req, _ := http.NewRequest("POST", url, strings.NewReader("x"))
	if code, _, err := do(retry.New(newBase(t, nil), o), req); err != nil || code != 200 {
		t.Fatalf("got %d, %v; want 200", code, err)
	}
	if req.Header.Get(retry.HeaderKey) != "" {
		t.Error("the caller's request was modified")
	}
	d, s := diverted.list(), served.list()
	if len(d) != 1 || len(s) != 1 || d[0].key == "" || d[0] != s[0] {
		t.Errorf("first attempt %+v, retry %+v: want the same generated key and body", d, s)
	}
}

// The context is cancelled while the Transport waits to retry (here by the
// Observer, which runs just before the wait).
func TestCancelDuringWait(t *testing.T) {
	var diverted log
	url := serve(t, http.NotFoundHandler(), nil, resetFirst(t, &diverted))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	o := retry.Options{BaseBackoff: time.Hour, MaxBackoff: time.Hour, MaxElapsed: 2 * time.Hour,
		Observer: func(retry.Event) { cancel() }}
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	_, _, err := do(retry.New(newBase(t, nil), o), req)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("got %v, want context.Canceled naming the reset", err)
	}
}

// A connection lost after the first response byte is not retried, even
// for a GET: the server answered (part of) something.
func TestLostAfterFirstByteNotRetried(t *testing.T) {
	var diverted, served log
	url := serve(t, okHandler(&served), nil, func(n int) func(*net.TCPConn) {
		if n != 1 {
			return nil
		}
		return func(c *net.TCPConn) {
			readRequest(t, c, &diverted)
			// Part of the headers, then a close (a FIN after the bytes: the
			// client reads them, then EOF).
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
			_ = c.Close()
		}
	})
	var ev events
	req, _ := http.NewRequest("GET", url, nil)
	code, _, err := do(retry.New(newBase(t, nil), fast(&ev)), req)
	if err == nil {
		t.Fatalf("got %d, want the error", code)
	}
	t.Logf("error: %v", err) // net/http: HTTP/1.x transport connection broken: unexpected EOF
	if evs, s := ev.list(), served.list(); len(evs) != 0 || len(s) != 0 {
		t.Errorf("events %+v, server received %+v; want no retry", evs, s)
	}
}
