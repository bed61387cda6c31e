package retry_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck/retry"
)

// The HTTP/2 tests speak h2c (HTTP/2 over cleartext TCP, prior knowledge)
// so that a test can write raw frames on a real socket: the misbehaving
// connection is a goroutine writing GOAWAY or RST_STREAM frames by hand;
// the next connections go to net/http's own HTTP/2 server.

// HTTP/2 frame types, flags and error codes (RFC 9113 §6, §7).
const (
	frameHeaders   = 0x1
	frameRSTStream = 0x3
	frameSettings  = 0x4
	frameGoAway    = 0x7

	flagAck        = 0x1
	flagEndStream  = 0x1
	flagEndHeaders = 0x4

	codeNo              = 0x0
	codeRefusedStream   = 0x7
	codeEnhanceYourCalm = 0xb
)

const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

func writeFrame(w io.Writer, typ, flags byte, stream uint32, payload []byte) error {
	h := make([]byte, 9, 9+len(payload))
	h[0], h[1], h[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	h[3], h[4] = typ, flags
	binary.BigEndian.PutUint32(h[5:], stream)
	_, err := w.Write(append(h, payload...))
	return err
}

func goAway(last, code uint32) []byte {
	p := make([]byte, 8)
	binary.BigEndian.PutUint32(p, last)
	binary.BigEndian.PutUint32(p[4:], code)
	return p
}

// rawH2 serves one h2c connection by hand: it reads the preface, sends
// its SETTINGS, acknowledges the client's, counts HEADERS frames (the
// requests) in *requests, and calls onHeaders for each. onHeaders returns
// true to end the connection: the server then closes its side (FIN, not
// RST, so the client reads every frame first) and drains until the client
// closes too.
func rawH2(t *testing.T, c *net.TCPConn, mu *sync.Mutex, requests *int, onHeaders func(w io.Writer, stream uint32) bool) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	pre := make([]byte, len(clientPreface))
	if _, err := io.ReadFull(c, pre); err != nil || string(pre) != clientPreface {
		t.Errorf("raw h2: preface %q, %v", pre, err)
		return
	}
	if err := writeFrame(c, frameSettings, 0, 0, nil); err != nil {
		t.Errorf("raw h2: %v", err)
		return
	}
	h := make([]byte, 9)
	for {
		if _, err := io.ReadFull(c, h); err != nil {
			t.Errorf("raw h2: reading a frame: %v", err)
			return
		}
		n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
		typ, flags, stream := h[3], h[4], binary.BigEndian.Uint32(h[5:])&0x7fffffff
		if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
			t.Errorf("raw h2: reading a frame: %v", err)
			return
		}
		switch {
		case typ == frameSettings && flags&flagAck == 0:
			_ = writeFrame(c, frameSettings, flagAck, 0, nil)
		case typ == frameHeaders:
			mu.Lock()
			*requests++
			mu.Unlock()
			if onHeaders(c, stream) {
				_ = c.CloseWrite()
				_, _ = io.Copy(io.Discard, c)
				return
			}
		}
	}
}

// h2Case is one misbehaviour of the first connection.
type h2Case struct {
	name string
	// first handles the first connection's first request.
	first func(w io.Writer, stream uint32) bool
	// netHTTPRetries: net/http's HTTP/2 transport retries it itself (any
	// method): a bare transport succeeds and this package sees nothing.
	netHTTPRetries bool
	reason         retry.Reason
}

var h2Cases = []h2Case{
	{
		name: "GOAWAY NO_ERROR, last stream 0 (graceful shutdown, stream unprocessed)",
		first: func(w io.Writer, _ uint32) bool {
			_ = writeFrame(w, frameGoAway, 0, 0, goAway(0, codeNo))
			return true
		},
		netHTTPRetries: true,
	},
	{
		name: "RST_STREAM REFUSED_STREAM",
		first: func(w io.Writer, stream uint32) bool {
			p := make([]byte, 4)
			binary.BigEndian.PutUint32(p, codeRefusedStream)
			_ = writeFrame(w, frameRSTStream, 0, stream, p)
			_ = writeFrame(w, frameGoAway, 0, 0, goAway(stream, codeNo)) // and leave
			return true
		},
		netHTTPRetries: true,
	},
	{
		name: "GOAWAY ENHANCE_YOUR_CALM, last stream 0 (stream unprocessed)",
		first: func(w io.Writer, _ uint32) bool {
			_ = writeFrame(w, frameGoAway, 0, 0, goAway(0, codeEnhanceYourCalm))
			return true
		},
		reason: retry.ReasonUnprocessed,
	},
	{
		name: "GOAWAY NO_ERROR, last stream ours, then close (received, not answered)",
		first: func(w io.Writer, stream uint32) bool {
			_ = writeFrame(w, frameGoAway, 0, 0, goAway(stream, codeNo))
			return true
		},
		reason: retry.ReasonConnectionLost,
	},
}

// h2Server serves h2c: its first connection is c.first's, the next ones
// net/http's HTTP/2 server with an okHandler.
func h2Server(t *testing.T, c h2Case) (url string, served *log, raw func() int) {
	var mu sync.Mutex
	var n int
	served = new(log)
	url = serve(t, okHandler(served), h2c(), func(conn int) func(*net.TCPConn) {
		if conn != 1 {
			return nil
		}
		return func(tc *net.TCPConn) { rawH2(t, tc, &mu, &n, c.first) }
	})
	return url, served, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestHTTP2(t *testing.T) {
	const body = "h2 body"
	for _, c := range h2Cases {
		t.Run(c.name, func(t *testing.T) {
			t.Run("bare net/http", func(t *testing.T) {
				url, served, raw := h2Server(t, c)
				req, _ := http.NewRequest("GET", url, nil)
				code, _, err := do(newBase(t, h2c()), req)
				t.Logf("bare net/http: %d, %v", code, err)
				if c.netHTTPRetries != (err == nil && code == 200) {
					t.Errorf("got %d, %v; net/http retries it itself: %v", code, err, c.netHTTPRetries)
				}
				if raw() != 1 || len(served.list()) > 1 {
					t.Errorf("raw connection got %d requests, server %d", raw(), len(served.list()))
				}
			})
			for _, m := range []struct {
				method, key string
				retried     bool
			}{
				{"GET", "", true},
				{"POST", retry.NewKey(), true},
				{"POST", "", c.netHTTPRetries},
			} {
				t.Run(m.method+map[bool]string{true: " with a key", false: ""}[m.key != ""], func(t *testing.T) {
					url, served, raw := h2Server(t, c)
					var ev events
					req, _ := http.NewRequest(m.method, url, strings.NewReader(body))
					if m.key != "" {
						req.Header.Set(retry.HeaderKey, m.key)
					}
					code, got, err := do(retry.New(newBase(t, h2c()), fast(&ev)), req)
					if raw() != 1 {
						t.Errorf("raw connection got %d requests, want 1", raw())
					}
					evs := ev.list()
					if c.netHTTPRetries {
						if len(evs) != 0 {
							t.Errorf("events %+v, want none (net/http retried)", evs)
						}
					} else if len(evs) != 1 || evs[0].Reason != c.reason || (evs[0].GiveUp == nil) != m.retried {
						t.Errorf("events %+v, want one %v, retried %v", evs, c.reason, m.retried)
					}
					if !m.retried {
						if err == nil || len(served.list()) != 0 {
							t.Errorf("got %d, %v, server received %+v; want the error, nothing sent again", code, err, served.list())
						}
						if len(evs) == 1 && !errors.Is(evs[0].GiveUp, retry.ErrNotIdempotent) {
							t.Errorf("GiveUp %v, want ErrNotIdempotent", evs[0].GiveUp)
						}
						return
					}
					if err != nil || code != 200 || got != "ok" {
						t.Fatalf("got %d %q, %v; want 200 ok", code, got, err)
					}
					want := received{m.method, m.key, body}
					if s := served.list(); len(s) != 1 || s[0] != want {
						t.Errorf("server received %+v, want [%+v]", s, want)
					}
				})
			}
		})
	}
}
