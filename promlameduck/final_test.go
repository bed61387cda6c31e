package promlameduck_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lameduck-dev/lameduck"
	"github.com/lameduck-dev/lameduck/internal/promtest"
)

// The load of every end-to-end test: nBefore quick requests, nSlow slow
// ones still in flight when Stopping begins, SIGTERM, then nDraining quick
// requests while Draining.
const (
	nBefore   = 20
	nSlow     = 3
	nDraining = 10
	slowFor   = 1200 * time.Millisecond
	drainFor  = 800 * time.Millisecond // < slowFor: the slow requests are drained in Stopping
)

// Environment of the service in the end-to-end tests.
var serviceEnv = []string{
	lameduck.EnvDrainDelay + "=" + drainFor.String(),
	lameduck.EnvGracePeriod + "=30s",
	lameduck.EnvFlushTimeout + "=5s", // longer than the 2s scrape interval of the final-scrape test
}

// phase returns the service's /phase document.
func (s *service) phase(t *testing.T) lameduck.PhaseStatus {
	t.Helper()
	resp, err := http.Get("http://" + s.admin + "/phase")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st lameduck.PhaseStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// shutdownUnderLoad drives the load around a SIGTERM, waits for the exit,
// checks the exit code is 0 and returns how many requests were served.
func shutdownUnderLoad(t *testing.T, s *service) int {
	t.Helper()
	l := newLoad(t)
	base := "http://" + s.addr
	for range nBefore {
		l.get(base + "/hello")
	}
	for range nSlow {
		l.goGet(fmt.Sprintf("%s/slow?ms=%d", base, slowFor.Milliseconds()))
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.phase(t).InFlight < nSlow {
		if time.Now().After(deadline) {
			t.Fatalf("the %d slow requests are not in flight after 5s", nSlow)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.signal(t, syscall.SIGTERM)
	if code := s.waitStatus(t, "/readyz", http.StatusServiceUnavailable, 5*time.Second); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d after SIGTERM, want 503 (Draining)", code)
	}
	for range nDraining {
		l.get(base + "/hello")
	}
	served := l.total()
	if code := s.wait(t, 20*time.Second); code != lameduck.ExitOK {
		t.Fatalf("exit code %d, want %d", code, lameduck.ExitOK)
	}
	if want := nBefore + nSlow + nDraining; served != want {
		t.Fatalf("served %d requests, want %d (every request must be served)", served, want)
	}
	return served
}

// TestFinalScrape runs the example service under a real Prometheus server,
// stops it with SIGTERM right after a scrape and checks what Prometheus
// recorded: with the final scrape, every request served; without it, the
// requests since the last scrape are missing.
//
// It is deterministic by construction: the load starts right after a
// scrape and the process exits about 1.4s later. With FinalNone, the next
// scrape (4s after the last) finds the process gone; with FinalScrape, the
// flush hook waits for the next scrape (2s interval, 5s Flushing budget).
func TestFinalScrape(t *testing.T) {
	scrapeAdmin, noneAdmin := promtest.FreeAddr(t), promtest.FreeAddr(t)
	prom := promtest.StartPrometheus(t,
		promtest.Job{Name: "final-scrape", Targets: []string{scrapeAdmin}, Interval: 2 * time.Second},
		promtest.Job{Name: "final-none", Targets: []string{noneAdmin}, Interval: 4 * time.Second},
	)
	t.Run("scrape", func(t *testing.T) {
		t.Parallel()
		r := runUnderPrometheus(t, prom, "final-scrape", scrapeAdmin, "scrape")
		if r.seen != float64(r.served) {
			t.Errorf("Prometheus recorded %v requests, the service served %d", r.seen, r.served)
		}
		if r.servedDraining != nDraining {
			t.Errorf("Prometheus recorded %v requests served while Draining, want %d", r.servedDraining, nDraining)
		}
		if r.drained != nSlow {
			t.Errorf("Prometheus recorded %v requests drained in Stopping, want %d", r.drained, nSlow)
		}
		if r.flushing != 1 {
			t.Errorf("the last sample of lameduck_phase{phase=\"Flushing\"} is %v, want 1 (scraped in Flushing)", r.flushing)
		}
		if !strings.Contains(r.log, "lameduck: metrics: final scrape collected") {
			t.Error(`no "final scrape collected" record in the service's log`)
		}
	})
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		r := runUnderPrometheus(t, prom, "final-none", noneAdmin, "none")
		t.Logf("without the final scrape, Prometheus recorded %v of the %d requests served", r.seen, r.served)
		if r.seen >= float64(r.served) {
			t.Errorf("Prometheus recorded %v requests of %d without the final scrape: the gap it exists for did not show", r.seen, r.served)
		}
		if r.flushing != 0 {
			t.Errorf("the last sample of lameduck_phase{phase=\"Flushing\"} is %v, want 0 (never scraped after Serving)", r.flushing)
		}
		if strings.Contains(r.log, "final scrape") {
			t.Error(`a "final scrape" record in the log with LAMEDUCK_METRICS_FINAL=none`)
		}
	})
}

// promResult is what Prometheus recorded of a service's run.
type promResult struct {
	served                  int     // requests the service served (client side)
	seen                    float64 // sum of http_requests_total, last samples
	servedDraining, drained float64
	flushing                float64 // last sample of lameduck_phase{phase="Flushing"}
	log                     string
}

func runUnderPrometheus(t *testing.T, prom *promtest.Prometheus, job, admin, mode string) promResult {
	c := ctx(t, 40*time.Second)
	s := startService(t, promtest.FreeAddr(t), admin, append(serviceEnv, "LAMEDUCK_METRICS_FINAL="+mode)...)
	// Start right after a scrape, so the next one is a whole interval away.
	first, err := prom.WaitTarget(c, job, func(tg promtest.Target) bool { return tg.Health == "up" })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prom.WaitTarget(c, job, func(tg promtest.Target) bool {
		return tg.Health == "up" && tg.LastScrape.After(first.LastScrape)
	}); err != nil {
		t.Fatal(err)
	}
	served := shutdownUnderLoad(t, s)
	exited := time.Now()
	// Once a scrape that started after the exit has failed, every earlier
	// scrape has been stored.
	if _, err := prom.WaitTarget(c, job, func(tg promtest.Target) bool {
		return tg.Health == "down" && tg.LastScrape.After(exited)
	}); err != nil {
		t.Fatal(err)
	}
	q := func(query string) float64 {
		v, _, err := prom.QueryScalar(c, strings.ReplaceAll(query, "JOB", job))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return promResult{
		served:         served,
		seen:           q(`sum(max_over_time(http_requests_total{job="JOB"}[5m]))`),
		servedDraining: q(`max_over_time(lameduck_requests_served_draining_total{job="JOB"}[5m])`),
		drained:        q(`max_over_time(lameduck_requests_drained_total{job="JOB"}[5m])`),
		flushing:       q(`last_over_time(lameduck_phase{job="JOB",phase="Flushing"}[5m])`),
		log:            s.out.String(),
	}
}

// TestFinalPush stops the service with a Pushgateway configured (which
// makes push the default mode) and checks the gateway holds the final
// values.
func TestFinalPush(t *testing.T) {
	gw := promtest.StartPushgateway(t)
	s := startService(t, promtest.FreeAddr(t), promtest.FreeAddr(t),
		append(serviceEnv, "LAMEDUCK_PUSHGATEWAY_URL="+gw.URL, "LAMEDUCK_PUSHGATEWAY_JOB=promlameduck-push")...)
	served := shutdownUnderLoad(t, s)
	fams, err := gw.Families(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	group := map[string]string{"job": "promlameduck-push", "instance": host}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range group {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"http_requests_total", map[string]string{"handler": "api", "code": "200", "method": "get"}, float64(served)},
		{"http_request_duration_seconds", map[string]string{"handler": "api", "code": "200", "method": "get"}, float64(served)},
		{"lameduck_requests_served_draining_total", nil, nDraining},
		{"lameduck_requests_drained_total", nil, nSlow},
		{"lameduck_requests_cut_total", nil, 0},
		{"lameduck_phase", map[string]string{"phase": "Flushing"}, 1},
		{"lameduck_phase", map[string]string{"phase": "Serving"}, 0},
	} {
		got, ok := promtest.Value(fams, c.name, with(c.labels))
		if !ok || got != c.want {
			t.Errorf("pushed %s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if d, ok := promtest.Value(fams, "lameduck_phase_duration_seconds", with(map[string]string{"phase": "Draining"})); !ok || d < drainFor.Seconds() {
		t.Errorf("pushed Draining duration %v (found %v), want ≥ %v", d, ok, drainFor.Seconds())
	}
	if _, ok := promtest.Value(fams, "push_time_seconds", group); !ok {
		t.Errorf("no push_time_seconds for %v: the push did not arrive", group)
	}
	if !strings.Contains(s.out.String(), "lameduck: metrics: final values pushed") {
		t.Error(`no "final values pushed" record in the service's log`)
	}
}

// TestFinalPushFailure: a push that fails makes the exit unclean and is
// logged.
func TestFinalPushFailure(t *testing.T) {
	dead := "http://" + promtest.FreeAddr(t) // nothing listens there
	s := startService(t, promtest.FreeAddr(t), promtest.FreeAddr(t),
		append(serviceEnv, "LAMEDUCK_METRICS_FINAL=push", "LAMEDUCK_PUSHGATEWAY_URL="+dead)...)
	s.signal(t, syscall.SIGTERM)
	if code := s.wait(t, 20*time.Second); code != lameduck.ExitUnclean {
		t.Errorf("exit code %d after a failed push, want %d", code, lameduck.ExitUnclean)
	}
	if out := s.out.String(); !strings.Contains(out, "lameduck: flush failed") || !strings.Contains(out, dead) {
		t.Errorf("the log does not name the failed push to %s", dead)
	}
}
