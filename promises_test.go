package lameduck_test

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The library's promises under every transport and every caller (issue
// 10): each test runs the service as a real process.

// h2cClient speaks HTTP/2 without TLS (prior knowledge), as Envoy, Istio
// sidecars and Cloud Run do to the app.
func h2cClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p}}
}

// An HTTP/2 request in flight across the shutdown completes, over h2c and
// over TLS, and the exit code is 0 only because it did.
func TestHTTP2RequestInFlightCompletes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		proto, scheme string
		client        *http.Client
	}{
		{"h2c", "http", h2cClient()},
		{"tls", "https", &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}, // the child's certificate is made up
	} {
		t.Run(tc.proto, func(t *testing.T) {
			t.Parallel()
			defer tc.client.CloseIdleConnections()
			c := startChild(t, "LAMEDUCK_TEST_PROTO="+tc.proto)
			c.waitReady()
			base := strings.Replace(c.app, "http://", tc.scheme+"://", 1)
			if r := await(t, get(tc.client, "GET", base+"/")); r.err != nil || r.code != 200 {
				t.Fatalf("GET /: %v %d", r.err, r.code)
			}
			slow := getProto(tc.client, base+"/slow?d=1500ms")
			c.waitFor("request in flight", func(s phaseStatus) bool { return s.InFlight == 1 })
			c.signal(syscall.SIGTERM)
			r := <-slow
			if r.err != nil || r.code != 200 || strings.TrimSpace(r.body) != "slow done" {
				t.Errorf("in-flight request across the shutdown: err %v, status %d, body %q", r.err, r.code, r.body)
			}
			equal(t, "protocol", r.proto, 2)
			equal(t, "exit code", c.wait(10*time.Second), 0)
			sum := findRecord(c.records(), "lameduck: stopped")
			equal(t, "summary drained", sum["drained"], 1)
		})
	}
}

type protoResult struct {
	result
	proto int
}

func getProto(client *http.Client, url string) <-chan protoResult {
	ch := make(chan protoResult, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			ch <- protoResult{result: result{err: err}}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		ch <- protoResult{result{code: resp.StatusCode, body: string(body), err: err}, resp.ProtoMajor}
	}()
	return ch
}

// An idle HTTP/2 connection is sent a graceful GOAWAY (NO_ERROR) as soon
// as Draining begins, so the client opens its next streams elsewhere.
func TestIdleHTTP2ConnectionGetsGoAwayWhileDraining(t *testing.T) {
	t.Parallel()
	c := startChild(t, "LAMEDUCK_TEST_PROTO=h2c", "LAMEDUCK_DRAIN_DELAY=3s")
	c.waitReady()
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.app, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Client preface and an empty SETTINGS frame, then nothing: idle.
	if _, err := io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	readFrame := func() (typ byte, payload []byte) {
		t.Helper()
		var hdr [9]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatalf("connection ended without GOAWAY: %v", err)
		}
		payload = make([]byte, int(hdr[0])<<16|int(hdr[1])<<8|int(hdr[2]))
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		return hdr[3], payload
	}
	// The server's SETTINGS: the connection is registered with net/http's
	// HTTP/2 server (it is, before SETTINGS is written).
	if typ, _ := readFrame(); typ != 0x4 {
		t.Fatalf("first frame from the server: type %d, want SETTINGS", typ)
	}
	c.signal(syscall.SIGTERM)
	for {
		typ, payload := readFrame()
		if typ != 0x7 { // not GOAWAY: SETTINGS ack, WINDOW_UPDATE, …
			continue
		}
		equal(t, "GOAWAY error code", binary.BigEndian.Uint32(payload[4:8]), 0) // NO_ERROR: graceful
		st, err := c.phase()
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "phase when GOAWAY arrived", st.Phase, "Draining")
		break
	}
	equal(t, "exit code", c.wait(15*time.Second), 0)
}

// The admin endpoints mounted on the service's own mux (what the
// AdminHandler doc comment used to suggest) must not let the service's
// clients stop it, and a drain request must not become in-flight work.
func TestDrainThroughServicePortRefused(t *testing.T) {
	t.Parallel()
	c := startChild(t, "LAMEDUCK_TEST_ADMIN_ON_SERVICE=1")
	c.waitReady()
	equal(t, "GET /admin/drain on the service port", status(t, c.app+"/admin/drain"), 403)
	equal(t, "phase after it", c.waitFor("phase", func(phaseStatus) bool { return true }).Phase, "Serving")
	equal(t, "in flight after it", c.waitFor("nothing in flight", func(s phaseStatus) bool { return s.InFlight == 0 }).InFlight, 0)
	c.signal(syscall.SIGTERM)
	equal(t, "exit code", c.wait(10*time.Second), 0)
}

// After a shutdown started by Shutdown, Fatal or a panicking task, the
// first external SIGTERM (the kubelet's, a supervisor's) is not a second
// signal: the in-flight request still completes.
func TestFirstSignalAfterOtherShutdownIsNotSecond(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path string
		code       int
	}{
		{"Shutdown", "/shutdown", 0},
		{"Fatal", "/fatal", 1},
		{"panicking task", "/panic", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startChild(t)
			c.waitReady()
			slow := get(http.DefaultClient, "GET", c.app+"/slow?d=1500ms")
			c.waitFor("request in flight", func(s phaseStatus) bool { return s.InFlight == 1 })
			await(t, get(http.DefaultClient, "POST", c.app+tc.path))
			c.waitFor("Stopping", func(s phaseStatus) bool { return s.Phase == "Stopping" })
			c.signal(syscall.SIGTERM)
			r := await(t, slow)
			if r.err != nil || r.code != 200 {
				t.Errorf("in-flight request: %v %d", r.err, r.code)
			}
			equal(t, "exit code", c.wait(10*time.Second), tc.code)
		})
	}
}

// The same signal delivered twice at once (timeout(1) signals the process
// and its process group) is one signal.
func TestDuplicateSignalIsDebounced(t *testing.T) {
	t.Parallel()
	c := startChild(t)
	c.waitReady()
	slow := get(http.DefaultClient, "GET", c.app+"/slow?d=1500ms")
	c.waitFor("request in flight", func(s phaseStatus) bool { return s.InFlight == 1 })
	c.signal(syscall.SIGTERM)
	// Two signals sent back to back are often merged by the kernel and the
	// Go runtime before the process reads them; the repeat that counts is
	// one that arrives after the first was taken (timeout(1) signals the
	// process, then its group). Send it as soon as the child has logged
	// the shutdown — a few milliseconds, well inside SignalDebounce.
	c.WaitPhase("Draining")
	c.signal(syscall.SIGTERM)
	r := await(t, slow)
	if r.err != nil || r.code != 200 {
		t.Errorf("in-flight request: %v %d", r.err, r.code)
	}
	equal(t, "exit code", c.wait(10*time.Second), 0)
}

// A hijacked connection whose handler returned at once (its goroutines
// keep it) is tracked once adopted: Stopping waits for it to say goodbye;
// if it does not end by the cut-off, it is named and closed.
func TestAdoptedHijackedConnection(t *testing.T) {
	t.Parallel()
	upgrade := func(t *testing.T, c *child, query string) *bufio.Reader {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(c.app, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "GET /ws%s HTTP/1.1\r\nHost: x\r\n\r\n", query)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		return br
	}
	t.Run("goodbye", func(t *testing.T) {
		t.Parallel()
		c := startChild(t, "LAMEDUCK_TEST_ADOPT=1")
		c.waitReady()
		br := upgrade(t, c, "")
		c.waitFor("the adopted connection", func(s phaseStatus) bool { return s.InFlight == 1 })
		c.signal(syscall.SIGTERM)
		line, err := br.ReadString('\n')
		equal(t, "goodbye", line, "bye\n")
		equal(t, "read error", err, nil)
		equal(t, "exit code", c.wait(10*time.Second), 0)
		// The adopted connection counts as drained (and so may the upgrade
		// request itself, if its handler had not returned yet at SIGTERM).
		if d, _ := findRecord(c.records(), "lameduck: stopped")["drained"].(float64); d < 1 {
			t.Errorf("summary drained = %v, want the adopted connection counted", d)
		}
	})
	t.Run("cut off", func(t *testing.T) {
		t.Parallel()
		c := startChild(t, "LAMEDUCK_TEST_ADOPT=1", "LAMEDUCK_GRACE_PERIOD=2500ms")
		c.waitReady()
		br := upgrade(t, c, "?stay=1")
		c.waitFor("the adopted connection", func(s phaseStatus) bool { return s.InFlight == 1 })
		c.signal(syscall.SIGTERM)
		if _, err := br.ReadString('\n'); err == nil {
			t.Error("the connection was not closed")
		}
		equal(t, "exit code", c.wait(10*time.Second), 1)
		if findRecord(c.records(), "lameduck: still running", "kind", "hijacked connection", "name", "GET /ws") == nil {
			t.Error("the adopted connection was not named at the cut-off")
		}
	})
}

// /drain answers non-2xx when the stop budget cut work off, so the preStop
// hook reports the failure; and the termination message names what was
// cut.
func TestDrainAfterCutOffFailsAndTerminationMessage(t *testing.T) {
	t.Parallel()
	termLog := filepath.Join(t.TempDir(), "termination-log")
	if err := os.WriteFile(termLog, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, "LAMEDUCK_GRACE_PERIOD=2500ms", "LAMEDUCK_TERMINATION_LOG="+termLog)
	c.waitReady()
	hang := get(http.DefaultClient, "GET", c.app+"/hang")
	c.waitFor("request in flight", func(s phaseStatus) bool { return s.InFlight == 1 })
	r := await(t, get(http.DefaultClient, "GET", c.adm+"/drain"))
	equal(t, "drain status after a cut-off", r.code, 500)
	if !strings.Contains(r.body, "cut off 1 requests") {
		t.Errorf("drain body: %q", r.body)
	}
	<-hang
	equal(t, "exit code", c.wait(10*time.Second), 1)
	msg, err := os.ReadFile(termLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lameduck: exit 1", "trigger drain", "request GET /hang"} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("termination message lacks %q:\n%s", want, msg)
		}
	}
	if len(msg) > 4096 {
		t.Errorf("termination message is %d bytes, more than 4 KiB", len(msg))
	}
}

// A request whose headers are half sent on a keep-alive connection when
// Stopping begins gets an answer, not a bare close, even with nothing
// else in flight to keep Stopping open.
func TestHalfSentRequestWhenStoppingIsAnswered(t *testing.T) {
	t.Parallel()
	c := startChild(t)
	c.waitReady()
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.app, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: test\r\n\r\n") // a first request: keep-alive
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: test\r\n") // the next one, half sent
	c.waitFor("the half request read", func(phaseStatus) bool { return true })
	c.signal(syscall.SIGTERM)
	c.waitFor("Stopping", func(s phaseStatus) bool { return s.Phase == "Stopping" })
	io.WriteString(conn, "\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the half-sent request got no answer: %v", err)
	}
	resp.Body.Close()
	equal(t, "status", resp.StatusCode, 503)
	equal(t, "exit code", c.wait(10*time.Second), 0)
}

// With GracePeriodFromAPI the shutdown budget comes from the pod's
// metadata.deletionGracePeriodSeconds, read from the API server (here a
// fake one over real TLS on loopback) with the service-account token; on
// failure it falls back to LAMEDUCK_GRACE_PERIOD.
func TestGracePeriodFromAPIServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		status     int
		wantBudget time.Duration
	}{
		{"deletionGracePeriodSeconds", 200, 3*time.Second - 500*time.Millisecond},
		{"fallback", 403, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var asked atomic.Value
			api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked.Store(r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization"))
				if tc.status != 200 {
					http.Error(w, `{"kind":"Status","code":403}`, tc.status)
					return
				}
				fmt.Fprint(w, `{"kind":"Pod","metadata":{"name":"counter-1","deletionGracePeriodSeconds":3}}`)
			}))
			defer api.Close()
			sa := t.TempDir()
			certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
			for name, data := range map[string][]byte{"token": []byte("tok3n\n"), "namespace": []byte("shop"), "ca.crt": certPEM} {
				if err := os.WriteFile(filepath.Join(sa, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			host, port, _ := net.SplitHostPort(strings.TrimPrefix(api.URL, "https://"))
			c := startChild(t, "KUBERNETES_SERVICE_HOST="+host, "KUBERNETES_SERVICE_PORT="+port,
				"LAMEDUCK_GRACE_PERIOD_FROM_API=true", "LAMEDUCK_POD_NAME=counter-1", "LAMEDUCK_TEST_SA_DIR="+sa)
			c.waitReady()
			c.signal(syscall.SIGTERM)
			equal(t, "exit code", c.wait(10*time.Second), 0)
			equal(t, "request to the API server", asked.Load(), "GET /api/v1/namespaces/shop/pods/counter-1 Bearer tok3n")
			d := findRecord(c.records(), "lameduck: budget from the API server's grace period")
			if tc.status != 200 {
				if d != nil {
					t.Errorf("budget changed though the API server refused: %v", d)
				}
				if findRecord(c.records(), "lameduck: grace period from the API server unavailable; using the configured one", "err", "403") == nil {
					t.Error("the fallback was not logged with the API server's answer")
				}
				return
			}
			if d == nil {
				t.Fatal("no record of the budget from the API server")
			}
			equal(t, "budget", time.Duration(d["budget"].(float64)), tc.wantBudget)
		})
	}
}
