package logfile_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/internal/freeport"
	"github.com/lameduck-dev/lameduck/lameducktest"
	"github.com/lameduck-dev/lameduck/logfile"
)

// TestExitSummary stops the service twice with SIGTERM, logging to the
// same file: once cleanly, once with a request and a task that ignore
// cancellation and outlive the budget. The file must keep what was there
// before (append, never truncate) and hold, for each run, a complete exit
// summary and the phase records.
func TestExitSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "service.log")
	const before = "a line written by the previous process\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("clean", func(t *testing.T) {
		s := start(t, logfile.Env+"="+path, lameduck.EnvDrainDelay+"=0.5s", lameduck.EnvGracePeriod+"=30s")
		c := client(t)
		c.mustGet(t, s.url("/task?ms=700"))
		slow := c.goGet(s.url("/slow?ms=900")) // still in flight when Stopping begins: drained
		s.waitPhase(t, func(p lameduck.PhaseStatus) bool { return p.InFlight == 1 && p.Tasks == 1 })
		s.signal(t, syscall.SIGTERM)
		s.waitReadyz(t, http.StatusServiceUnavailable)
		for range 5 {
			c.mustGet(t, s.url("/hello")) // served while Draining
		}
		if err := <-slow; err != nil {
			t.Errorf("the slow request was not served: %v", err)
		}
		if code := s.wait(t); code != lameduck.ExitOK {
			t.Fatalf("exit code %d, want 0", code)
		}
	})
	t.Run("budget exceeded", func(t *testing.T) {
		// Budget: 1.5s − 0.5s kill margin = 1s, of which flush 0.2s and
		// close 0.2s: Stopping gets 0.6s, then cuts off what still runs.
		s := start(t, logfile.Env+"="+path, lameduck.EnvGracePeriod+"=1.5s", lameduck.EnvKillMargin+"=0.5s",
			lameduck.EnvFlushTimeout+"=0.2s", lameduck.EnvCloseTimeout+"=0.2s", lameduck.EnvDrainDelay+"=0")
		c := client(t)
		stuck := c.goGet(s.url("/stuck"))
		c.mustGet(t, s.url("/task?ms=10000"))
		s.waitPhase(t, func(p lameduck.PhaseStatus) bool { return p.InFlight == 1 && p.Tasks == 1 })
		s.signal(t, syscall.SIGTERM)
		if code := s.wait(t); code != lameduck.ExitUnclean {
			t.Fatalf("exit code %d, want %d", code, lameduck.ExitUnclean)
		}
		if err := <-stuck; err == nil {
			t.Error("the stuck request got a response; its connection should have been closed at the cut-off")
		}
	})
	if t.Failed() {
		return
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(before)) {
		t.Fatalf("the file does not start with what was in it before: it was truncated or overwritten:\n%.300s", data)
	}
	recs := records(t, data[len(before):])
	var sums []record
	for _, r := range recs {
		if r["msg"] == logfile.SummaryMessage {
			sums = append(sums, r)
		}
	}
	if len(sums) != 2 {
		t.Fatalf("%d exit summaries in the file, want 2 (one per run)", len(sums))
	}
	checkSummary(t, "clean", sums[0], map[string]any{
		"level": "INFO", "code": 0.0, "trigger": "signal", "signal": "terminated",
		"budget": float64(28 * time.Second), "served_draining": 5.0, "drained": 1.0,
		"refused": 0.0, "tasks_done": 1.0, "cut_requests": 0.0, "cut_tasks": 0.0,
	})
	checkSummary(t, "budget exceeded", sums[1], map[string]any{
		"level": "ERROR", "code": 1.0, "trigger": "signal", "signal": "terminated",
		"budget": float64(time.Second), "served_draining": 0.0, "drained": 0.0,
		"refused": 0.0, "tasks_done": 0.0, "cut_requests": 1.0, "cut_tasks": 1.0,
	})
	if d := sums[0].phase(t, "Draining"); d < 0.5e9 {
		t.Errorf("clean run: Draining took %v, want ≥ the 0.5s drain delay", time.Duration(d))
	}

	// Each run logged every phase change, in order, before its summary, and
	// the cut-off named what was still running.
	var phases []string
	stillRunning := map[string]bool{}
	for _, r := range recs {
		switch r["msg"] {
		case "lameduck: phase":
			phases = append(phases, fmt.Sprint(r["phase"]))
		case logfile.SummaryMessage:
			phases = append(phases, "|")
		case "lameduck: still running":
			stillRunning[fmt.Sprint(r["kind"], " ", r["name"])] = true
		}
	}
	want := "Serving Draining Stopping Flushing Closing Stopped |"
	if got := strings.Join(phases, " "); got != want+" "+want {
		t.Errorf("phase records:\n got %s\nwant %s %s", got, want, want)
	}
	for _, w := range []string{"request GET /stuck", "task job"} {
		if !stillRunning[w] {
			t.Errorf("no \"still running\" record for %s; got %v", w, stillRunning)
		}
	}
}

type record map[string]any

// phase returns the summary's duration of phase p, in nanoseconds.
func (r record) phase(t *testing.T, p string) float64 {
	t.Helper()
	ph, _ := r["phases"].(map[string]any)
	d, ok := ph[p].(float64)
	if !ok {
		t.Errorf("summary: no phases.%s in %v", p, r["phases"])
	}
	return d
}

func checkSummary(t *testing.T, run string, r record, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s: summary %s = %v (%T), want %v", run, k, r[k], r[k], v)
		}
	}
	for _, k := range []string{"cause", "used", "time"} {
		if _, ok := r[k]; !ok {
			t.Errorf("%s: summary has no %q", run, k)
		}
	}
	if used, _ := r["used"].(float64); used <= 0 {
		t.Errorf("%s: summary used = %v, want > 0", run, r["used"])
	}
	for _, p := range []string{"Draining", "Stopping", "Flushing", "Closing"} {
		r.phase(t, p)
	}
	t.Logf("%s: %v", run, r)
}

// records parses JSON lines.
func records(t *testing.T, data []byte) []record {
	t.Helper()
	var out []record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("not a JSON record: %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// service is a testService process.
type service struct {
	*lameducktest.Process
	addr, admin string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

func start(t *testing.T, env ...string) *service {
	t.Helper()
	s := &service{addr: freeAddr(t), admin: freeAddr(t)}
	env = append([]string{"SERVICE_ADDR=" + s.addr, lameduck.EnvAdminAddr + "=" + s.admin}, env...)
	s.Process = lameducktest.Start(t, "logfile-service", env...)
	s.waitReadyz(t, http.StatusOK)
	return s
}

func (s *service) url(path string) string { return "http://" + s.addr + path }

// poll calls ok every 10ms until it returns true; it fails the test after
// 10s or if the service exits.
func (s *service) poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-s.Exited():
			t.Fatalf("service exited while waiting for %s", what)
		case <-deadline.C:
			t.Fatalf("no %s after 10s", what)
		case <-tick.C:
		}
	}
}

func (s *service) waitReadyz(t *testing.T, want int) {
	t.Helper()
	s.poll(t, fmt.Sprintf("/readyz %d", want), func() bool {
		resp, err := http.Get("http://" + s.admin + "/readyz")
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == want
	})
}

func (s *service) waitPhase(t *testing.T, ok func(lameduck.PhaseStatus) bool) {
	t.Helper()
	s.poll(t, "expected /phase", func() bool {
		resp, err := http.Get("http://" + s.admin + "/phase")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var p lameduck.PhaseStatus
		return json.NewDecoder(resp.Body).Decode(&p) == nil && ok(p)
	})
}

func (s *service) signal(t *testing.T, sig syscall.Signal) { t.Helper(); s.Signal(sig) }

func (s *service) wait(t *testing.T) int { t.Helper(); return s.Wait(20 * time.Second) }

type httpClient struct {
	c  *http.Client
	wg sync.WaitGroup
}

func client(t *testing.T) *httpClient {
	c := &httpClient{c: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(func() {
		c.wg.Wait()
		c.c.CloseIdleConnections()
	})
	return c
}

func (c *httpClient) get(url string) error {
	resp, err := c.c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

func (c *httpClient) mustGet(t *testing.T, url string) {
	t.Helper()
	if err := c.get(url); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// goGet sends a request in the background; the channel gets its outcome.
func (c *httpClient) goGet(url string) <-chan error {
	ch := make(chan error, 1)
	c.wg.Go(func() { ch <- c.get(url) })
	return ch
}
