package lameduck_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/lameducktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	lameducktest.RunChild(map[string]func() int{"service": childMain})
	goleak.VerifyTestMain(m)
}

// child is the service under test (childMain), running as a real process.
type child struct {
	*lameducktest.Process
	t   *testing.T
	app string // http://127.0.0.1:port
	adm string
	out string // file the child appends task and closer lines to
}

// baseEnv is a small, fast budget for every child.
var baseEnv = []string{"LAMEDUCK_GRACE_PERIOD=10s", "LAMEDUCK_KILL_MARGIN=500ms", "LAMEDUCK_FLUSH_TIMEOUT=500ms",
	"LAMEDUCK_CLOSE_TIMEOUT=500ms", "LAMEDUCK_DRAIN_DELAY=0"}

// startChild starts the service with env added and waits until it listens.
func startChild(t *testing.T, env ...string) *child {
	t.Helper()
	c := startProcess(t, env...)
	f := strings.Fields(c.WaitLine("ports "))
	c.app, c.adm = "http://"+f[1], "http://"+f[2]
	return c
}

// startProcess starts the service without waiting for it to listen (for
// start-up failures).
func startProcess(t *testing.T, env ...string) *child {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	env = append(append([]string{"LAMEDUCK_TEST_OUT=" + out}, baseEnv...), env...)
	return &child{Process: lameducktest.Start(t, "service", env...), t: t, out: out}
}

func (c *child) log() string               { return c.Stderr().String() }
func (c *child) records() []map[string]any { return recordMaps(c.Records("")) }
func (c *child) signal(sig syscall.Signal) { c.t.Helper(); c.Signal(sig) }
func (c *child) wait(within time.Duration) int {
	c.t.Helper()
	return c.Wait(within)
}

func recordMaps(rs []lameducktest.Record) []map[string]any {
	out := make([]map[string]any, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

// lines returns what the child's tasks and closers recorded, in order.
func (c *child) lines() []string {
	b, _ := os.ReadFile(c.out)
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", "_"))
}

// waitFor polls the admin /phase endpoint until cond holds.
func (c *child) waitFor(what string, cond func(phaseStatus) bool) phaseStatus {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.phase()
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting for %s: last status %+v, err %v; log:\n%s", what, st, err, c.log())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type phaseStatus struct {
	Phase    string `json:"phase"`
	InFlight int64  `json:"inflight"`
	Tasks    int64  `json:"tasks"`
}

func (c *child) phase() (phaseStatus, error) {
	var st phaseStatus
	resp, err := http.Get(c.adm + "/phase")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (c *child) waitReady() {
	c.t.Helper()
	c.waitFor("Serving", func(s phaseStatus) bool { return s.Phase == "Serving" })
}

// get sends a request in the background and returns its outcome later.
func get(client *http.Client, method, url string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(method, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			ch <- result{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		ch <- result{code: resp.StatusCode, body: string(body), header: resp.Header, err: err}
	}()
	return ch
}

type result struct {
	code   int
	body   string
	header http.Header
	err    error
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("request did not finish")
		return result{}
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

var allPhases = []string{"Serving", "Draining", "Stopping", "Flushing", "Closing", "Stopped"}

// An in-flight 2 s request completes with 200 during shutdown, and the
// phases go by in order.
func TestSIGTERMLetsInFlightRequestFinish(t *testing.T) {
	t.Parallel()
	c := startChild(t)
	c.waitReady()
	slow := get(http.DefaultClient, "GET", c.app+"/slow?d=2s")
	c.waitFor("request in flight", func(s phaseStatus) bool { return s.InFlight == 1 })
	c.signal(syscall.SIGTERM)
	c.waitFor("Stopping", func(s phaseStatus) bool { return s.Phase == "Stopping" })
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(c.app, "http://"), time.Second); err == nil {
		t.Error("a new connection was accepted after Stopping began; the listener should be closed")
	}
	r := await(t, slow)
	equal(t, "slow request error", r.err, nil)
	equal(t, "slow request status", r.code, 200)
	equal(t, "slow request body", strings.TrimSpace(r.body), "slow done")
	equal(t, "exit code", c.wait(10*time.Second), 0)
	equal(t, "phases", c.Phases(), allPhases)
	sum := findRecord(c.records(), "lameduck: stopped")
	if sum == nil {
		t.Fatal("no exit summary record")
	}
	equal(t, "summary drained", sum["drained"], 1)
	equal(t, "summary trigger", sum["trigger"], "signal")
}

// During Draining /readyz is 503, /livez 200, requests are still served and
// keep-alive clients are told to close, so their next request uses a new
// connection.
func TestDrainingFlipsReadinessAndClosesKeepAlive(t *testing.T) {
	t.Parallel()
	c := startChild(t, "LAMEDUCK_DRAIN_DELAY=1500ms")
	c.waitReady()
	equal(t, "readyz while serving", status(t, c.adm+"/readyz"), 200)

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	reused := func() (bool, *http.Response) {
		var info httptrace.GotConnInfo
		req, _ := http.NewRequest("GET", c.app+"/", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { info = i },
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET /: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return info.Reused, resp
	}
	reused()
	if r, resp := reused(); !r || resp.Close {
		t.Fatalf("before draining: reused=%v close=%v, want a reused keep-alive connection", r, resp.Close)
	}

	c.signal(syscall.SIGTERM)
	c.waitFor("Draining", func(s phaseStatus) bool { return s.Phase == "Draining" })
	equal(t, "readyz while draining", status(t, c.adm+"/readyz"), 503)
	equal(t, "livez while draining", status(t, c.adm+"/livez"), 200)

	r1, resp := reused()
	equal(t, "first request while draining reused the keep-alive connection", r1, true)
	equal(t, "status while draining", resp.StatusCode, 200)
	equal(t, "Connection: close while draining", resp.Close, true)
	r2, _ := reused()
	equal(t, "next request reused the connection", r2, false)

	equal(t, "exit code", c.wait(10*time.Second), 0)
}

// Work acknowledged with 200 and done afterwards by a tracked task finishes
// before exit, and closers run after it, in reverse order of registration.
func TestBackgroundWorkFinishesBeforeClosers(t *testing.T) {
	t.Parallel()
	c := startChild(t)
	c.waitReady()
	r := await(t, get(http.DefaultClient, "POST", c.app+"/work?d=1s&id=w1"))
	equal(t, "work status", r.code, 200)
	c.signal(syscall.SIGTERM)
	equal(t, "exit code", c.wait(10*time.Second), 0)
	equal(t, "recorded", c.lines(), []string{"task_w1_done", "close_c", "close_b", "close_a"})
}

// A request whose headers complete on an already-open connection after
// Stopping began is refused cleanly: 503, Retry-After, Connection: close.
func TestRequestArrivingDuringStoppingIsRefused(t *testing.T) {
	t.Parallel()
	c := startChild(t)
	c.waitReady()
	slow := get(http.DefaultClient, "GET", c.app+"/slow?d=1500ms") // holds Stopping open
	c.waitFor("request in flight", func(s phaseStatus) bool { return s.InFlight == 1 })

	conn, err := net.Dial("tcp", strings.TrimPrefix(c.app, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: test\r\n"); err != nil {
		t.Fatal(err)
	}
	c.signal(syscall.SIGTERM)
	c.waitFor("Stopping", func(s phaseStatus) bool { return s.Phase == "Stopping" })
	if _, err := io.WriteString(conn, "\r\n"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response on the open connection: %v", err)
	}
	resp.Body.Close()
	equal(t, "status", resp.StatusCode, 503)
	equal(t, "Retry-After", resp.Header.Get("Retry-After"), "1")
	equal(t, "Connection: close", resp.Close, true)

	equal(t, "slow request status", await(t, slow).code, 200)
	equal(t, "exit code", c.wait(10*time.Second), 0)
	if sum := findRecord(c.records(), "lameduck: stopped"); sum == nil || fmt.Sprint(sum["refused"]) != "1" {
		t.Errorf("summary should count 1 refused request: %v", sum)
	}
}

// A request that outlives the stop budget has its context cancelled, is
// named in the log with its age, and the exit code says the shutdown was
// not clean; closers still run.
func TestOverBudgetRequestIsCancelledAndNamed(t *testing.T) {
	t.Parallel()
	// budget 2.5s − 0.5s kill margin = 2s; stop = 2s − 0.5s flush − 0.5s close = 1s
	c := startChild(t, "LAMEDUCK_GRACE_PERIOD=2500ms")
	c.waitReady()
	hang := get(http.DefaultClient, "GET", c.app+"/hang")
	c.waitFor("request in flight", func(s phaseStatus) bool { return s.InFlight == 1 })
	c.signal(syscall.SIGTERM)
	equal(t, "exit code", c.wait(10*time.Second), 1)
	<-hang // the response may or may not arrive before the connection is force-closed
	rec := findRecord(c.records(), "lameduck: still running", "name", "GET /hang")
	if rec == nil {
		t.Fatalf("no 'still running' record naming GET /hang")
	}
	if age, _ := rec["age"].(float64); time.Duration(age) < 900*time.Millisecond {
		t.Errorf("age of the cut request = %v, want about the 1s stop budget", time.Duration(age))
	}
	equal(t, "recorded", c.lines(), []string{"hang_cancelled:_lameduck:_shutdown_budget_exhausted", "close_c", "close_b", "close_a"})
	sum := findRecord(c.records(), "lameduck: stopped")
	equal(t, "summary cut_requests", sum["cut_requests"], 1)
}

// A second SIGTERM exits at once, naming what was cut off.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	c := startChild(t)
	c.waitReady()
	slow := get(http.DefaultClient, "GET", c.app+"/slow?d=8s")
	c.waitFor("request in flight", func(s phaseStatus) bool { return s.InFlight == 1 })
	c.signal(syscall.SIGTERM)
	c.waitFor("Stopping", func(s phaseStatus) bool { return s.Phase == "Stopping" })
	// The child read the first signal before it entered Stopping; one sent
	// a debounce window after that is a second signal, not a duplicate.
	time.Sleep(lameduck.SignalDebounce + 100*time.Millisecond)
	c.signal(syscall.SIGTERM)
	equal(t, "exit code", c.wait(4*time.Second), 128+int(syscall.SIGTERM)) // the 8s request is not waited for
	if findRecord(c.records(), "lameduck: second signal, exiting at once", "cut_off", "GET /slow") == nil {
		t.Error("no log record naming the request cut off by the second signal")
	}
	if r := await(t, slow); r.err == nil {
		t.Errorf("the cut-off request got a response: %d", r.code)
	}
}

// SIGTERM while Starting (readiness never passed) exits cleanly, without a
// drain delay and without ever entering Serving.
func TestSIGTERMDuringStarting(t *testing.T) {
	t.Parallel()
	c := startChild(t, "LAMEDUCK_TEST_READY_FILE="+filepath.Join(t.TempDir(), "never"), "LAMEDUCK_DRAIN_DELAY=5s")
	c.waitFor("Starting", func(s phaseStatus) bool { return s.Phase == "Starting" })
	equal(t, "readyz while starting", status(t, c.adm+"/readyz"), 503)
	equal(t, "livez while starting", status(t, c.adm+"/livez"), 200)
	c.signal(syscall.SIGTERM)
	equal(t, "exit code", c.wait(3*time.Second), 0) // well before the 5s drain delay
	equal(t, "phases", c.Phases(), allPhases[1:])
}

// /drain (a preStop httpGet hook) starts the shutdown and answers only once
// the in-flight request is done; the SIGTERM that follows is not a second
// signal. With a token configured, a request without it is refused.
func TestDrainEndpoint(t *testing.T) {
	t.Parallel()
	c := startChild(t, "LAMEDUCK_DRAIN_TOKEN=s3cret")
	c.waitReady()
	equal(t, "drain without token", status(t, c.adm+"/drain"), 403)
	equal(t, "phase after refused drain", c.waitFor("Serving", func(s phaseStatus) bool { return true }).Phase, "Serving")

	slowStart := time.Now()
	slow := get(http.DefaultClient, "GET", c.app+"/slow?d=1s")
	c.waitFor("request in flight", func(s phaseStatus) bool { return s.InFlight == 1 })
	req, _ := http.NewRequest("GET", c.adm+"/drain", nil)
	req.Header.Set("X-Lameduck-Token", "s3cret")
	drain := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			drain <- result{err: err}
			return
		}
		resp.Body.Close()
		drain <- result{code: resp.StatusCode}
	}()
	// The handler sleeps 1s: a drain that answers sooner did not wait for it.
	equal(t, "drain status", await(t, drain).code, 200)
	if waited := time.Since(slowStart); waited < time.Second {
		t.Errorf("drain answered %v after the 1s request started: it did not wait for it", waited)
	}
	equal(t, "slow status", await(t, slow).code, 200)
	c.signal(syscall.SIGTERM) // as the kubelet does when preStop returns
	equal(t, "exit code", c.wait(5*time.Second), 0)
	if findRecord(c.records(), "lameduck: stopped", "trigger", "drain") == nil {
		t.Error("summary should say the shutdown was triggered by drain")
	}
}

// A panic in tracked work goes through the whole sequence (closers run)
// and exits non-zero.
func TestPanicInTaskShutsDownInOrder(t *testing.T) {
	t.Parallel()
	c := startChild(t)
	c.waitReady()
	await(t, get(http.DefaultClient, "POST", c.app+"/panic"))
	equal(t, "exit code", c.wait(10*time.Second), 1)
	equal(t, "recorded", c.lines(), []string{"close_c", "close_b", "close_a"})
	if findRecord(c.records(), "lameduck: panic", "name", "doomed") == nil {
		t.Error("panic not logged")
	}
}

// A port already taken stops the app with a clear error and exit code 2.
func TestPortTakenFailsStart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := startProcess(t, "LAMEDUCK_TEST_ADDR="+ln.Addr().String())
	equal(t, "exit code", c.wait(5*time.Second), 2)
	if !strings.Contains(c.log(), "address already in use") {
		t.Errorf("log does not say the address is in use:\n%s", c.log())
	}
}

// Invalid configuration fails start-up naming the variable and the form.
func TestInvalidEnvFailsStart(t *testing.T) {
	t.Parallel()
	c := startProcess(t, "LAMEDUCK_DRAIN_DELAY=abc")
	equal(t, "exit code", c.wait(5*time.Second), 2)
	for _, want := range []string{"LAMEDUCK_DRAIN_DELAY", `\"abc\"`, "5s"} {
		if !strings.Contains(c.log(), want) {
			t.Errorf("log does not mention %s:\n%s", want, c.log())
		}
	}
}

// A handler that panics (net/http recovers it and closes the connection)
// leaves nothing in flight: the shutdown does not wait for it.
func TestPanickingHandlerIsNotLeftInFlight(t *testing.T) {
	t.Parallel()
	c := startChild(t)
	c.waitReady()
	if r := await(t, get(http.DefaultClient, "GET", c.app+"/panic-handler")); r.err == nil {
		t.Errorf("a panicking handler answered %d", r.code)
	}
	c.waitFor("nothing in flight after the panic", func(s phaseStatus) bool { return s.InFlight == 0 })
	c.signal(syscall.SIGTERM)
	equal(t, "exit code", c.wait(10*time.Second), 0) // a stale mark would hold Stopping until the budget ends: exit 1
}
